"""A user-supplied LiteLLM master key without ``sk-`` is refused with a message, not deployed."""

from __future__ import annotations

from litemaas_operator import credentials
from litemaas_operator.credentials import LITELLM_MASTER_KEY, prefix_problem


def test_a_master_key_without_sk_is_refused_without_echoing_it():
    value = "my-own-master-key-0123456789"
    message = prefix_problem(LITELLM_MASTER_KEY, value)
    assert message is not None
    assert message.startswith("spec.secrets.litellmMasterKey: ") and "'sk-'" in message
    assert value not in message


def test_a_master_key_with_sk_is_accepted():
    assert prefix_problem(LITELLM_MASTER_KEY, "sk-my-own-master-key-0123456789") is None


def test_only_keys_the_application_checks_require_their_prefix():
    required = {c.key for c in credentials.EVERY if c.prefix_required}
    assert required == {"litellm-master-key"}
    # Generated values always carry the prefix.
    assert prefix_problem(LITELLM_MASTER_KEY, LITELLM_MASTER_KEY.generate()) is None
