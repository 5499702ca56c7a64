"""Local-run helpers: the SMTP catcher, the payment provider's stand-in, demo seeding, service checks."""
