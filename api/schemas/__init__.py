"""Request and response models of the JSON API; the OpenAPI document is generated from them."""
