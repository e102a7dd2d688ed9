"""Provider adapters: build one per configured provider, reuse it for every call."""

from __future__ import annotations

import os

from worker.domain.config import ProviderConfig, ProviderKind
from worker.providers.anthropic_adapter import AnthropicProvider
from worker.providers.base import Completion, Provider, missing_key_error
from worker.providers.openai_adapter import OpenAIProvider

#: a self-hosted OpenAI-compatible server usually accepts any key; vLLM documents this one
PLACEHOLDER_LOCAL_KEY = "EMPTY"

__all__ = ["Completion", "Provider", "build_provider"]


def build_provider(name: str, config: ProviderConfig) -> Provider:
    """An adapter for ``config``; raises Permanent('missing_api_key') when its key is unset."""
    key = os.environ.get(config.api_key_env, "").strip()
    if not key:
        if config.kind is not ProviderKind.openai_compatible:
            raise missing_key_error(name, config.api_key_env)
        key = PLACEHOLDER_LOCAL_KEY
    if config.kind is ProviderKind.anthropic:
        return AnthropicProvider(name=name, config=config, api_key=key)
    return OpenAIProvider(name=name, config=config, api_key=key)
