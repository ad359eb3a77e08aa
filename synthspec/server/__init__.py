"""`synthspec serve`: the web app and REST API over the engine `apply` uses (docs/serve.md)."""
