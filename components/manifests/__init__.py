"""Pure builders: manifests, args and config files as plain dicts. No Pulumi import."""
