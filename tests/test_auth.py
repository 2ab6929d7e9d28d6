"""podgeo.auth: staff password hashes (scrypt, constant-time check), the staff mode, the email allow-list."""
from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from podgeo import auth

REPO = Path(__file__).resolve().parents[1]
SALT = bytes(range(16))
CHEAP = {"n": 2**10, "r": 8, "p": 1}  # fast parameters for tests that hash many times


def test_hash_format_is_scrypt_with_its_parameters_and_salt():
    stored = auth.hash_password("correct horse", salt=SALT, **CHEAP)
    expected = hashlib.scrypt(b"correct horse", salt=SALT, n=2**10, r=8, p=1, dklen=32)
    assert stored == "$".join(["scrypt", "1024", "8", "1", base64.b64encode(SALT).decode(),
                               base64.b64encode(expected).decode()])


def test_default_hash_is_salted_and_verifies():
    a, b = auth.hash_password("correct horse"), auth.hash_password("correct horse")
    assert a != b  # a fresh salt each time
    assert a.split("$")[1:4] == ["32768", "8", "1"]
    assert auth.verify_password("correct horse", a) and auth.verify_password("correct horse", b)


@pytest.mark.parametrize("guess", ["correct hors", "correct horse ", "CORRECT HORSE", "", None, 12345678])
def test_wrong_passwords_are_refused(guess):
    assert auth.verify_password(guess, auth.hash_password("correct horse", salt=SALT, **CHEAP)) is False


def test_comparison_is_constant_time(monkeypatch):
    seen = []
    real = auth.hmac.compare_digest
    monkeypatch.setattr(auth.hmac, "compare_digest", lambda a, b: seen.append((a, b)) or real(a, b))
    assert auth.verify_password("correct horse", auth.hash_password("correct horse", salt=SALT, **CHEAP))
    assert len(seen) == 1 and len(seen[0][0]) == 32


def test_short_passwords_cannot_be_hashed():
    with pytest.raises(ValueError, match="at least 8 characters"):
        auth.hash_password("hunter2")


@pytest.mark.parametrize("stored, problem", [
    ("correct horse", "not in podgeo's format"),
    ("pbkdf2$1$2$3$4$5", "not in podgeo's format"),
    ("scrypt$x$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==", "damaged"),
    ("scrypt$1024$8$1$not base64!$AAAAAAAAAAAAAAAAAAAAAA==", "damaged"),
    ("scrypt$1000$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==", "unsafe"),  # n not a power of two
    ("scrypt$2$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==", "unsafe"),  # far too cheap
    ("scrypt$1073741824$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==", "memory"),
])
def test_malformed_hashes_are_a_clear_configuration_error_never_a_yes(stored, problem):
    with pytest.raises(ValueError, match=problem):
        auth.verify_password("correct horse", stored)


STORED = auth.hash_password("correct horse", salt=SALT, **CHEAP)
OIDC = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                 "client_id": "podgeo", "client_secret": "s",
                 "server_metadata_url": "https://id.example.org/.well-known/openid-configuration"}}
NAMED = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                  "google": {"client_id": "podgeo", "client_secret": "s",
                             "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"}}}


@pytest.mark.parametrize("secrets, environ, mode", [
    ({}, {}, "disabled"),
    ({"auth": {"redirect_uri": "x", "cookie_secret": "y"}}, {}, "disabled"),  # [auth] without a provider
    ({}, {"PODGEO_STAFF_PASSWORD_HASH": STORED}, "password"),
    ({"staff_password_hash": STORED}, {}, "password"),
    ({}, {"PODGEO_STAFF_PASSWORD": "correct horse"}, "password"),
    ({}, {"PODGEO_STAFF_PASSWORD_HASH": ""}, "disabled"),  # set but empty is not set
    (OIDC, {}, "oidc"),
    (NAMED, {"PODGEO_STAFF_PASSWORD_HASH": STORED}, "oidc"),  # an identity provider wins
])
def test_staff_mode(secrets, environ, mode):
    assert auth.staff_mode(secrets, environ) == mode


def test_oidc_provider_name_for_st_login():
    assert auth.oidc_provider(OIDC) is None  # the default provider: st.login()
    assert auth.oidc_provider(NAMED) == "google"  # st.login("google")
    assert auth.oidc_provider({}) is False


def test_password_hash_sources_in_order_and_plain_env_is_hashed_not_kept():
    assert auth.password_hash({"staff_password_hash": "from-secret"}, {"PODGEO_STAFF_PASSWORD_HASH": STORED}) == STORED
    assert auth.password_hash({"staff_password_hash": STORED}, {"PODGEO_STAFF_PASSWORD": "other password"}) == STORED
    hashed = auth.password_hash({}, {"PODGEO_STAFF_PASSWORD": "correct horse"})
    assert hashed.startswith("scrypt$") and "correct horse" not in hashed
    assert auth.verify_password("correct horse", hashed)
    assert auth.password_hash({}, {"PODGEO_STAFF_PASSWORD": "correct horse"}) == hashed  # hashed once per process
    assert auth.password_hash({}, {}) is None


def test_secrets_object_that_raises_counts_as_no_configuration():
    class NoSecretsFile(dict):
        def get(self, key, default=None):
            raise FileNotFoundError("no secrets.toml")

        def items(self):
            raise FileNotFoundError("no secrets.toml")

    assert auth.staff_mode(NoSecretsFile(), {}) == "disabled"


@pytest.mark.parametrize("email, secrets, environ, allowed", [
    ("ana@district.org", {}, {}, False),  # no list: signed in is not enough
    ("ana@district.org", {"staff_emails": ["Ana@District.org"]}, {}, True),
    ("bo@district.org", {"staff_emails": ["ana@district.org"]}, {}, False),
    ("bo@district.org", {"staff_emails": ["@district.org"]}, {}, True),
    ("bo@district.org.evil.com", {"staff_emails": ["@district.org"]}, {}, False),
    ("bo@evil.com", {}, {"PODGEO_STAFF_EMAILS": "ana@district.org, @district.org"}, False),
    ("bo@district.org", {}, {"PODGEO_STAFF_EMAILS": "ana@district.org, @district.org"}, True),
    (None, {"staff_emails": ["@district.org"]}, {}, False),
    ("anyone@gmail.com", {"staff_emails": ["*"]}, {}, True),
    ("ana@district.org", {"staff_emails": "ana@district.org"}, {}, True),  # one string, not a list
])
def test_allowed_email(email, secrets, environ, allowed):
    assert auth.allowed_email(email, secrets, environ) is allowed


def test_hash_password_command():
    run = subprocess.run([sys.executable, "-m", "podgeo", "hash-password", "--stdin"], input="correct horse\n",
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert run.returncode == 0, run.stderr
    stored = run.stdout.strip()
    assert auth.verify_password("correct horse", stored) and "correct horse" not in run.stdout
    short = subprocess.run([sys.executable, "-m", "podgeo", "hash-password", "--stdin"], input="short\n",
                           capture_output=True, text=True, cwd=REPO, timeout=60)
    assert short.returncode == 2 and "at least 8 characters" in short.stderr and short.stdout == ""


# -- guessing: backoff and lockout (issue 10: 60 tries in 11 s all went through) ------------------------

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_sixty_tries_in_eleven_seconds_mostly_wait():
    clock = Clock()
    throttle = auth.Throttle(free=3, lock_after=10, lock_seconds=900, clock=clock)
    checked = []
    for i in range(60):  # one try every 11/60 s, all wrong
        clock.now = 1000.0 + i * 11 / 60
        if throttle.wait("10.0.0.9") == 0:
            checked.append(round(clock.now - 1000.0, 2))
            throttle.failed("10.0.0.9")
    # three free tries, then waits of 2 s and 4 s; the next would be 8 s later, past the 11 s
    assert checked == [0.0, 0.18, 0.37, 2.38, 6.42]
    assert throttle.wait("10.0.0.9") == pytest.approx(6.42 + 8 - 11 + 11 / 60, abs=0.01)
    assert throttle.wait("10.0.0.10") == 0  # another address is not slowed


def test_lockout_after_ten_failures_and_a_success_clears():
    clock = Clock()
    throttle = auth.Throttle(free=3, lock_after=10, lock_seconds=900, max_wait=300, clock=clock)
    for _ in range(9):
        throttle.failed("a")
    assert throttle.wait("a") == 2.0 ** 7  # 2, 4, ... doubling after the three free ones
    throttle.failed("a")
    assert throttle.wait("a") == 900  # locked
    clock.now += 899
    assert throttle.wait("a") == 1
    clock.now += 1
    assert throttle.wait("a") == 0
    throttle.succeeded("a")
    throttle.failed("a")
    assert throttle.wait("a") == 0  # counting starts again


def test_failed_attempts_are_logged_without_the_password(caplog):
    throttle = auth.Throttle(clock=Clock())
    with caplog.at_level("WARNING", logger="podgeo.auth"):
        throttle.failed("192.0.2.7", name="Ana")
    assert caplog.messages == ["staff sign-in failed: name 'Ana' from 192.0.2.7 (1 wrong password(s) in a row)"]


def test_sign_in_page_refuses_to_check_during_the_wait(db, monkeypatch, caplog):
    from apptest_helpers import open_app

    monkeypatch.setattr(auth, "THROTTLE", auth.Throttle(free=2, lock_after=10))
    monkeypatch.setenv(auth.HASH_ENV, auth.hash_password("correct horse battery", **CHEAP))
    checks = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda p, s: checks.append(p) or real(p, s))
    at = open_app("views/upload.py")
    with caplog.at_level("WARNING", logger="podgeo.auth"):
        for guess in ("guess one!", "guess two!", "guess three", "correct horse battery"):
            at.text_input(key="staff.name").input("Mallory")
            at.text_input(key="staff.password").input(guess)
            at.form_submit_button[0].click().run()
    assert checks == ["guess one!", "guess two!"]  # the third and even the right one wait 2 s unchecked
    assert [e.value for e in at.error][-1].startswith("Too many wrong passwords from here. Try again in 2 s")
    assert len(at.file_uploader) == 0
    logged = [r.getMessage() for r in caplog.records if r.name == "podgeo.auth"]
    assert logged == [f"staff sign-in failed: name 'Mallory' from unknown address ({n} wrong password(s) in a row)"
                      for n in (1, 2)]  # who and from where, never the password
