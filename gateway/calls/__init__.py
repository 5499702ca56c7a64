"""The calls to the services, one module per area, shared by the JSON API and the web pages.

A page and its API route reach a service through the same function here: the request it sends, its
deadline, and the few steps a use case takes across services (offering an album for sale, the
dashboard's fan-out). Only shapes are checked in the gateway; the services own every rule, and their
refusals (``kit.errors.AppError`` with code and fields) come back to the caller unchanged.
"""
