"""Pinned default images. A stack may override each under `images:`; `latest` is refused there."""

DEFAULT_IMAGES: dict[str, str] = {
    # Multi-arch index digest of v0.11.0 (as pinned by several public deployments).
    "vllm": "vllm/vllm-openai:v0.11.0@sha256:014a95f21c9edf6abe0aea6b07353f96baa4ec291c427bb1176dc7c93a85845c",
    # Same release as the proxy the tests boot (.ci/install_litellm.sh pins litellm[proxy]==1.102.4);
    # the non_root variant runs as uid 65534. A tag, not a digest: no public source found publishes the digest of
    # v1.102.4 (only of v1.101.0/v1.102.0), and none is invented; docs/how-to/cold-starts.md shows how to pin one.
    "litellm": "ghcr.io/berriai/litellm-non_root:v1.102.4",
    # Official multi-arch index digest of 7.4.6-alpine: the gateway's shared rate-limit counters (no persistence).
    "redis": "redis:7.4.6-alpine@sha256:3b73847e72874be07e6657b129a94761662b79bc0f679273757d4218573b2a98",
}
