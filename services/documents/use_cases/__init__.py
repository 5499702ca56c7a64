"""The documents service's use cases, one module per capability (see docs/architecture.md):
documents (deposit, list, open, platform-rendered PDFs), albums, photos (upload, serve, withdraw),
offers (albums put on sale in an ordering period), consents (photo consent per child, the children in
a photo)."""
