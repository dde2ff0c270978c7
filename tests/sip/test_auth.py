"""Digest client: RFC 2617 §3.5 and RFC 7616 §3.9.1 vectors, challenge parsing, retry rules."""

from __future__ import annotations

import itertools

import pytest

from firmware.sip.auth import (
    AuthError,
    Challenge,
    Credentials,
    DigestClient,
    build_authorization,
    compute_response,
    parse_challenge,
)

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

RFC2617 = dict(
    username="Mufasa",
    password="Circle Of Life",
    realm="testrealm@host.com",
    nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
    method="GET",
    uri="/dir/index.html",
    qop="auth",
    nc=1,
    cnonce="0a4f113b",
)

RFC7616 = dict(
    username="Mufasa",
    password="Circle of Life",
    realm="http-auth@example.org",
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    method="GET",
    uri="/dir/index.html",
    qop="auth",
    nc=1,
    cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
)


def test_rfc2617_section_3_5_vector() -> None:
    assert compute_response(algorithm="MD5", **RFC2617) == "6629fae49393a05397450978507c4ef1"


def test_rfc7616_md5_vector() -> None:
    assert compute_response(algorithm="MD5", **RFC7616) == "8ca523f5e9506fed4657c9700eebdbec"


def test_rfc7616_sha256_vector() -> None:
    assert (
        compute_response(algorithm="SHA-256", **RFC7616)
        == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )


def test_rfc2069_no_qop() -> None:
    # Without qop: response = H(HA1:nonce:HA2); independent computation.
    import hashlib

    def md5(s: str) -> str:
        return hashlib.md5(s.encode()).hexdigest()

    ha1 = md5("bob:biloxi.com:zanzibar")
    ha2 = md5("REGISTER:sip:biloxi.com")
    expected = md5(f"{ha1}:abc:{ha2}")
    got = compute_response(
        algorithm="MD5", username="bob", password="zanzibar", realm="biloxi.com",
        nonce="abc", method="REGISTER", uri="sip:biloxi.com",
    )
    assert got == expected


def test_sess_and_auth_int_differ_from_plain() -> None:
    base = dict(RFC7616, algorithm="SHA-256")
    plain = compute_response(**base)
    sess = compute_response(**dict(base, algorithm="SHA-256-sess"))
    aint = compute_response(**dict(base, qop="auth-int"), body=b"v=0\r\n")
    aint2 = compute_response(**dict(base, qop="auth-int"), body=b"v=1\r\n")
    assert len({plain, sess, aint, aint2}) == 4


def test_parse_challenge_full() -> None:
    ch = parse_challenge(
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", stale=TRUE',
        proxy=True,
    )
    assert ch == Challenge(
        realm="http-auth@example.org",
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        algorithm="SHA-256",
        qop=("auth", "auth-int"),
        opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
        stale=True,
        proxy=True,
    )


def test_parse_challenge_escapes_and_defaults() -> None:
    ch = parse_challenge(r'digest  realm = "a \"q\" realm" ,nonce=xyz')
    assert ch.realm == 'a "q" realm' and ch.nonce == "xyz" and ch.algorithm == "MD5"
    assert ch.qop == () and not ch.stale


@pytest.mark.parametrize(
    "value",
    [
        "",
        'Basic realm="x"',
        'Digest realm="x"',
        'Digest nonce="n"',
        'Digest realm="x, nonce="n"',
        "Digest realm",
        "Digest " + ", ".join(f"p{i}=1" for i in range(40)) + ', realm="r", nonce="n"',
        'Digest realm="' + "x" * 5000 + '", nonce="n"',
    ],
)
def test_parse_challenge_rejects(value: str) -> None:
    with pytest.raises(AuthError):
        parse_challenge(value)


def test_build_authorization_rfc7616_header() -> None:
    ch = parse_challenge(
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    value = build_authorization(
        ch,
        Credentials(username="Mufasa", password="Circle of Life"),
        method="GET",
        uri="/dir/index.html",
        nc=1,
        cnonce=RFC7616["cnonce"],
    )
    assert value == (
        'Digest username="Mufasa", realm="http-auth@example.org", '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", uri="/dir/index.html", '
        'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", '
        'algorithm=SHA-256, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", qop=auth, nc=00000001'
    )


def test_userhash_and_sess_token() -> None:
    ch = Challenge(realm="r", nonce="n", algorithm="SHA-256-SESS", qop=("auth",), userhash=True)
    v = build_authorization(ch, Credentials(username="u", password="p"), method="INVITE",
                            uri="sip:x", cnonce="c")
    assert "algorithm=SHA-256-sess" in v and "userhash=true" in v and 'username="u"' not in v


def test_credentials_repr_hides_password() -> None:
    assert "s3cret" not in repr(Credentials(username="u", password="s3cret"))


def _client() -> DigestClient:
    counter = itertools.count(1)
    return DigestClient(
        [Credentials(username="alice", password="pw", realm="atlanta.com"),
         Credentials(username="alice-proxy", password="pw2")],
        cnonce_factory=lambda: f"c{next(counter)}",
    )


def test_client_nc_counting_and_preemptive_reuse() -> None:
    c = _client()
    d = c.handle_challenges(['Digest realm="atlanta.com", nonce="n1", qop="auth"'], proxy=False)
    assert d.retry
    [(name, v1)] = c.authorization_headers("REGISTER", "sip:atlanta.com")
    [(_, v2)] = c.authorization_headers("REGISTER", "sip:atlanta.com")
    assert name == "Authorization"
    assert "nc=00000001" in v1 and 'cnonce="c1"' in v1
    assert "nc=00000002" in v2 and 'cnonce="c2"' in v2


def test_client_same_nonce_not_stale_is_failure() -> None:
    c = _client()
    ch = 'Digest realm="atlanta.com", nonce="n1", qop="auth"'
    assert c.handle_challenges([ch], proxy=False).retry
    c.authorization_headers("REGISTER", "sip:atlanta.com")
    d = c.handle_challenges([ch], proxy=False)
    assert not d.retry
    assert d.reason == "credentials for 'alice' rejected by realm 'atlanta.com'"


def test_client_stale_retries_with_new_nonce() -> None:
    c = _client()
    assert c.handle_challenges(['Digest realm="atlanta.com", nonce="n1"'], proxy=False).retry
    c.authorization_headers("INVITE", "sip:bob@biloxi.com")
    d = c.handle_challenges(['Digest realm="atlanta.com", nonce="n2", stale=true'], proxy=False)
    assert d.retry
    [(_, v)] = c.authorization_headers("INVITE", "sip:bob@biloxi.com")
    assert 'nonce="n2"' in v


def test_client_fresh_nonce_rechallenges_are_bounded() -> None:
    c = _client()
    results = []
    for i in range(5):
        results.append(
            c.handle_challenges([f'Digest realm="atlanta.com", nonce="n{i}"'], proxy=False).retry
        )
        c.authorization_headers("REGISTER", "sip:atlanta.com")
    assert results == [True, True, True, False, False]


def test_client_proxy_default_realm_and_strongest_algorithm() -> None:
    c = _client()
    d = c.handle_challenges(
        ['Digest realm="biloxi.com", nonce="m", algorithm=MD5',
         'Digest realm="biloxi.com", nonce="s", algorithm=SHA-256'],
        proxy=True,
    )
    assert d.retry
    [(name, v)] = c.authorization_headers("INVITE", "sip:bob@biloxi.com")
    assert name == "Proxy-Authorization"
    assert 'username="alice-proxy"' in v and "algorithm=SHA-256" in v and 'nonce="s"' in v


def test_client_no_credentials_for_realm() -> None:
    c = DigestClient([Credentials(username="a", password="b", realm="x")])
    d = c.handle_challenges(['Digest realm="y", nonce="n"'], proxy=False)
    assert not d.retry and d.reason == "no credentials for realm 'y'"


def test_client_unusable_challenges() -> None:
    c = _client()
    d = c.handle_challenges(['Digest realm="r", nonce="n", algorithm=AKAv1-MD5', "Basic x=1"],
                            proxy=False)
    assert not d.retry and d.reason.startswith("no usable digest challenge")


def test_client_prefers_the_lines_own_credentials_in_a_shared_realm() -> None:
    creds = [Credentials(username="1001", password="a"), Credentials(username="1002", password="b")]
    assert DigestClient(creds, user="1001").credentials_for("r").username == "1001"
    assert DigestClient(creds, user="1002").credentials_for("r").username == "1002"
    assert DigestClient(creds).credentials_for("r").username == "1002"  # no user: as before
    auth = [Credentials(username="auth7", password="c", user="1001"), *creds[1:]]
    assert DigestClient(auth, user="1001").credentials_for("r").username == "auth7"
