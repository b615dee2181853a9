import base64
import re
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings
from bot.stream_token import InvalidStreamToken, StreamTokens

SECRET = b"unit-test-stream-secret-0123456789"
CALL = "2f0c8a7e-5a6b-4c1d-9e8f-0123456789ab"
OTHER_CALL = "9d4e1b2a-0000-4c1d-9e8f-0123456789ab"
URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tokens(clock: FakeClock) -> StreamTokens:
    return StreamTokens(SECRET, 30, clock=clock)


def reason(tokens: StreamTokens, token: str, call_uuid: str = CALL) -> str:
    with pytest.raises(InvalidStreamToken) as caught:
        tokens.verify(token, call_uuid)
    return caught.value.reason


def test_stream_token_round_trip_returns_the_nonce(tokens: StreamTokens):
    token, nonce = tokens.issue(CALL)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert len(token) == 66
    assert re.fullmatch(r"[0-9a-f]{32}", nonce)
    assert CALL not in token
    assert tokens.verify(token, CALL) == nonce


def test_stream_token_is_fresh_each_time(tokens: StreamTokens):
    issued = [tokens.issue(CALL) for _ in range(20)]
    assert len({token for token, _ in issued}) == 20
    assert len({nonce for _, nonce in issued}) == 20


def test_stream_token_expires_after_its_ttl(tokens: StreamTokens, clock: FakeClock):
    token, nonce = tokens.issue(CALL)
    clock.now += 29.999
    assert tokens.verify(token, CALL) == nonce
    clock.now += 0.001
    assert reason(tokens, token) == "expired"


def test_stream_token_for_another_call_is_wrong_call(tokens: StreamTokens):
    token, _ = tokens.issue(CALL)
    assert reason(tokens, token, OTHER_CALL) == "wrong_call"


def test_stream_token_from_another_secret_is_bad_signature(clock: FakeClock):
    theirs = StreamTokens(b"some-other-secret-abcdefghijkl", 30, clock=clock)
    token, _ = theirs.issue(CALL)
    assert reason(StreamTokens(SECRET, 30, clock=clock), token) == "bad_signature"


def test_stream_token_tampered_anywhere_never_verifies(tokens: StreamTokens):
    token, _ = tokens.issue(CALL)
    alphabet = "AB"
    for position in range(len(token)):
        swapped = alphabet[0] if token[position] != alphabet[0] else alphabet[1]
        tampered = token[:position] + swapped + token[position + 1 :]
        assert reason(tokens, tampered) in {"malformed", "bad_signature"}, position


def test_stream_token_extended_expiry_is_bad_signature(tokens: StreamTokens, clock: FakeClock):
    token, _ = tokens.issue(CALL)
    raw = bytearray(base64.urlsafe_b64decode(token + "=="))
    raw[1:9] = int((clock.now + 3600) * 1000).to_bytes(8, "big")
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert reason(tokens, forged) == "bad_signature"


@pytest.mark.parametrize(
    "token",
    ["", "abc", "A" * 65, "A" * 67, "é" * 66, "!" * 66, "A" * 64 + "=="],
)
def test_stream_token_malformed(tokens: StreamTokens, token: str):
    assert reason(tokens, token) == "malformed"


def test_stream_token_other_version_is_malformed(tokens: StreamTokens):
    token, _ = tokens.issue(CALL)
    raw = bytearray(base64.urlsafe_b64decode(token + "=="))
    raw[0] = 2
    other_version = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert reason(tokens, other_version) == "malformed"


def test_stream_token_non_canonical_spelling_is_malformed(tokens: StreamTokens):
    token, _ = tokens.issue(CALL)
    # 49 bytes leave 2 spare bits in the last character; setting one decodes to the same bytes.
    alias = URLSAFE[URLSAFE.index(token[-1]) ^ 1]
    assert base64.urlsafe_b64decode(token[:-1] + alias + "==") == base64.urlsafe_b64decode(
        token + "=="
    )
    assert reason(tokens, token[:-1] + alias) == "malformed"


def test_invalid_stream_token_is_a_403_with_a_stable_code():
    error = InvalidStreamToken("expired")
    assert (error.status, error.code, error.reason) == (403, "invalid_stream_token", "expired")
    assert str(error) == "Invalid stream token (expired)"


def test_stream_tokens_refuse_a_short_secret_or_no_lifetime():
    with pytest.raises(ValueError):
        StreamTokens(b"short", 30)
    with pytest.raises(ValueError):
        StreamTokens(SECRET, 0)


def test_stream_tokens_repr_hides_the_secret(tokens: StreamTokens):
    assert SECRET.decode() not in repr(tokens)
    assert repr(tokens) == "StreamTokens(ttl_secs=30)"


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, bots_path=tmp_path / "bots.yaml", **values)  # type: ignore[arg-type]


def test_from_settings_uses_the_configured_secret_across_processes(tmp_path: Path):
    config = settings(
        tmp_path, stream_token_secret="shared-secret-0123456789", stream_token_ttl_secs=5
    )
    one, two = StreamTokens.from_settings(config), StreamTokens.from_settings(config)
    token, nonce = one.issue(CALL)
    assert two.verify(token, CALL) == nonce
    assert one.ttl_secs == 5


def test_from_settings_derives_the_secret_from_the_plivo_token(tmp_path: Path):
    config = settings(tmp_path, plivo_auth_token="plivo-auth-token-0123456789")
    one, two = StreamTokens.from_settings(config), StreamTokens.from_settings(config)
    token, nonce = one.issue(CALL)
    assert two.verify(token, CALL) == nonce
    raw = StreamTokens(b"plivo-auth-token-0123456789", 30)
    assert reason(raw, token) == "bad_signature"  # derived, not the token itself


def test_from_settings_without_secrets_is_random_and_warns(tmp_path: Path, log_lines: list[str]):
    config = settings(tmp_path)
    one, two = StreamTokens.from_settings(config), StreamTokens.from_settings(config)
    token, _ = one.issue(CALL)
    assert reason(two, token) == "bad_signature"
    warnings = [line for line in log_lines if line.startswith("WARNING")]
    assert len(warnings) == 2 and "STREAM_TOKEN_SECRET" in warnings[0]


def test_from_settings_refuses_a_short_secret_naming_the_variable(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        StreamTokens.from_settings(settings(tmp_path, stream_token_secret="too-short"))
    assert "STREAM_TOKEN_SECRET" in str(caught.value)
    assert "too-short" not in str(caught.value)
