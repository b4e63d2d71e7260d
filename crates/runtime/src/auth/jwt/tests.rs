use super::*;
use crate::auth::keys::{DEFAULT_AUDIENCE, DEV_ISSUER, DevKey, MintClaims};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};

/// A 2048-bit RSA key made for these tests only (generating one at test time is slow without optimisations).
const RSA_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAoMpyXfPs6eb9X0ZvHxWQgB2JlPUxurwwREM4tzRASOv1AOyv
wsaHhh1XtS5GxVP9evGrVQdorGWFebQHjCXeUIM3DZvhnLMjjBmsiE6KxucCLHjA
OJwwnKs/LiwRfPjmuWV7RmS672uO1nYkuVAZjnJprN852AT+tSeFftOUV55+syzx
ST/pgSapeBLrPCZ8W52Vrf1S9jlPPjOy7MSggwfSntit+FCsz6+DRe94LYbY/f96
lQGh6znYtT3BMgaO/MefkTRcUdUqO8PqDTi7DZN9CqKeTkXRuTJylI+wkwPdJciW
k1qD4Ubd3St+hKTNsslau3p8v57aV4Nn75jHbQIDAQABAoIBAB5cU6+LY0kASYfv
tgRFz2DtkuC6Uq9KoQeGtOMc/eV3Dm5kAsURtR3dFQZcTFcuxo5sKxiVW02wJr2m
AYXUUa/csuzCKh3rUnM+Fs6vG/O2Q3oPu+YEkgZHLJkkj5HMMs6/i4EtfIHASrqS
mNkX95dm4a7XgKXaPZkJsyKRQ3Guqf0d7XEVu40QjH5r2r8wRpoHBGr0f3f4Y4TU
rhq1JnGS9xzK+SHMwXoBP/n8jfWQmR8Pnjskkc0hq01KEOxrbdykSMUm7lPV0gS0
bNnTBBHI5sI178JIkUh+XmyzPbbcKUDSPcbvvugtDDT3LT9zcjcimOerrwbhcqsv
/H97yqECgYEA4WevYOPAHsoYO9S8VNNHXxMqU9CQSPEQawpaY4ZoJwL9yadw4T4J
myKIF6JYHje+Ce10CI6kxczPrUyQEvpl6Kr63eHP3g+ibpuX+pUUblfA5gazBZ/a
9+k11CM6PKy3Bi1fy9xo+VsjfrjSl+Ut7jUt9uZJvPEh5jsZ6+vDmqECgYEAtp2Q
WM3ngTei2RajBLafzictbF4XniRMC2Utwx3TitYtgoZWW1HIhOopSbJXMjJYYpZp
kF4h9tuu7ijtmY+zl+ofWja8JpyEDB083zrT0riwO4tR4I4Dq+6UhFrH/q2dSPp1
HpPDqkUuV+/23AH30Dy9nxYBzO+/pKdK/iIqJU0CgYAwYoVvEvSGp3MURNI4kzHa
4s5PN5IBVl3j3FES1CM/XJEF3H+KmjqNppf4Gs03j1en4eTqgVQ1cYWS+cBjkoSV
sT4wquxoCosfmx7Al4fPN98cgYukRXBHjzQS2Y0CwUB4fvz1Udbmz/2KkjoCiRuW
6qt3OG/Tsx9HwKAL2IwggQKBgBgFoBBefZ6c3/oopScgkuL+elYwBnFSGwLAu4VY
LhSsWe46l6+JkZQSbX35TMkYoFHPsXFBQLyFZ3yCu8aghaJtNNScMKHvotspGXHP
/j9Q9jXO/OVKKSd7yeOjQX25/t+zuqZcD7gdQ5xjv5hvVdb5toPv1CrOOuqA6zeE
7QBdAoGBAN9izcISuLnuzRNT3EY/XQqjhOg9W9Hrdpf26Gcaf3HZRPW39Nn7H+tj
IyT0LQ1vxpefBb8goh6SVbRkuJuA3lrsWBMIzoQFagX1TQAfHsFoxQBUDxmXswWv
+PYmS+zotJZPAtxL3XMG38axS+GN4lEJRJhmcDzxrjGFKJHSqhkk
-----END RSA PRIVATE KEY-----
";
/// The modulus of [`RSA_PEM`], base64url.
const RSA_N: &str = "oMpyXfPs6eb9X0ZvHxWQgB2JlPUxurwwREM4tzRASOv1AOyvwsaHhh1XtS5GxVP9evGrVQdorGWFebQHjCXeUIM3DZvhnLMjjBmsiE6KxucCLHjAOJwwnKs_LiwRfPjmuWV7RmS672uO1nYkuVAZjnJprN852AT-tSeFftOUV55-syzxST_pgSapeBLrPCZ8W52Vrf1S9jlPPjOy7MSggwfSntit-FCsz6-DRe94LYbY_f96lQGh6znYtT3BMgaO_MefkTRcUdUqO8PqDTi7DZN9CqKeTkXRuTJylI-wkwPdJciWk1qD4Ubd3St-hKTNsslau3p8v57aV4Nn75jHbQ";

/// A signing key of any supported kind, with its JWK.
struct TestKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

impl TestKey {
    fn eddsa() -> (Self, DevKey) {
        let dev = DevKey::generate().expect("dev key");
        let encoding = EncodingKey::from_ed_pem(dev.private_pem().as_bytes()).expect("encoding");
        (Self { kid: dev.kid().to_owned(), alg: Algorithm::EdDSA, encoding, jwk: dev.jwk() }, dev)
    }

    fn es256(kid: &str) -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("p256");
        let point = pair.public_key_raw();
        let (x, y) = point[1..].split_at(32);
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y), "kid": kid});
        let encoding = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).expect("encoding");
        Self { kid: kid.to_owned(), alg: Algorithm::ES256, encoding, jwk }
    }

    fn rs256(kid: &str) -> Self {
        let jwk = json!({"kty": "RSA", "n": RSA_N, "e": "AQAB", "kid": kid, "alg": "RS256", "use": "sig"});
        let encoding = EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).expect("encoding");
        Self { kid: kid.to_owned(), alg: Algorithm::RS256, encoding, jwk }
    }

    fn sign(&self, claims: &Value) -> String {
        sign_with(self.alg, Some(&self.kid), &self.encoding, claims)
    }
}

fn sign_with(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("signed")
}

fn jwks(keys: &[&TestKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }).to_string()
}

fn settings(keys: KeySource) -> TokenSettings {
    TokenSettings::new(keys, DEV_ISSUER, DEFAULT_AUDIENCE)
}

fn now() -> i64 {
    i64::try_from(unix_now()).expect("now")
}

/// Valid claims for `sub`, ten minutes to run.
fn claims(sub: &str) -> Value {
    json!({"iss": DEV_ISSUER, "aud": DEFAULT_AUDIENCE, "sub": sub, "exp": now() + 600, "roles": ["officer"]})
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().expect("object") {
        if value.is_null() {
            claims.as_object_mut().expect("object").remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn verifier_for(keys: &[&TestKey]) -> Verifier {
    Verifier::new(settings(KeySource::Jwks(jwks(keys)))).await.expect("verifier")
}

async fn refusal(verifier: &Verifier, token: &str) -> &'static str {
    verifier.verify(token).await.expect_err("refused").reason()
}

#[tokio::test]
async fn eddsa_es256_and_rs256_tokens_verify_to_the_identity_their_claims_name() {
    let (ed, _) = TestKey::eddsa();
    let (es, rs) = (TestKey::es256("ec-1"), TestKey::rs256("rsa-1"));
    let verifier = verifier_for(&[&ed, &es, &rs]).await;
    for key in [&ed, &es, &rs] {
        let token = key.sign(&with(claims("jane"), json!({"roles": ["officer", "admin"], "name": "Jane Doe"})));
        let identity = verifier.verify(&token).await.unwrap_or_else(|e| panic!("{:?}: {e}", key.alg));
        assert_eq!(identity.subject, "jane");
        assert_eq!(identity.roles, Roles::of(&[Role::Officer, Role::Admin]));
        assert_eq!(identity.display_name.as_deref(), Some("Jane Doe"));
    }
    let spaced = ed.sign(&with(claims("sam"), json!({"roles": "viewer  mediator root"})));
    assert_eq!(verifier.verify(&spaced).await.expect("valid").roles, Roles::of(&[Role::Viewer, Role::Mediator]));
    let unknown_only = rs.sign(&with(claims("sam"), json!({"roles": ["superuser"]})));
    assert_eq!(verifier.verify(&unknown_only).await.expect("valid").roles, Roles::NONE, "unknown roles grant nothing");
    let no_roles = es.sign(&with(claims("sam"), json!({"roles": null, "aud": ["other", DEFAULT_AUDIENCE]})));
    assert_eq!(verifier.verify(&no_roles).await.expect("one of the audiences").roles, Roles::NONE);
}

#[tokio::test]
async fn alg_none_and_unsupported_algorithms_are_refused() {
    let (ed, _) = TestKey::eddsa();
    let verifier = verifier_for(&[&ed]).await;
    let payload = b64(&claims("mallory"));
    for alg in ["none", "None", "HS999"] {
        let token = format!("{}.{payload}.", b64(&json!({"alg": alg, "kid": ed.kid})));
        assert_eq!(refusal(&verifier, &token).await, "TOKEN_ALGORITHM", "{alg}");
    }
    let token = format!("{}.{payload}.", b64(&json!({"kid": ed.kid})));
    assert_eq!(refusal(&verifier, &token).await, "TOKEN_ALGORITHM", "no alg at all");
    let error = verifier.verify(&format!("{}.{payload}.", b64(&json!({"alg": "none"})))).await.expect_err("none");
    assert!(error.to_string().contains("alg: none"), "{error}");
}

#[tokio::test]
async fn a_token_whose_header_alg_is_not_its_keys_is_refused_even_when_signed_with_the_public_key() {
    let (ed, _) = TestKey::eddsa();
    let rs = TestKey::rs256("rsa-1");
    let es = TestKey::es256("ec-1");
    let verifier = verifier_for(&[&ed, &rs, &es]).await;
    // The classic confusion: HMAC "signed" with the public key the attacker can read.
    let public_jwks = jwks(&[&ed, &rs]);
    let ed_x = URL_SAFE_NO_PAD.decode(ed.jwk["x"].as_str().expect("x")).expect("x");
    let rsa_n = URL_SAFE_NO_PAD.decode(RSA_N).expect("n");
    for (kid, secret) in [(&ed.kid, ed_x.as_slice()), (&rs.kid, rsa_n.as_slice()), (&rs.kid, public_jwks.as_bytes())] {
        let token = sign_with(
            Algorithm::HS256,
            Some(kid),
            &EncodingKey::from_secret(secret).expect("secret"),
            &claims("mallory"),
        );
        let error = verifier.verify(&token).await.expect_err("confused");
        assert_eq!(error.reason(), "TOKEN_ALGORITHM", "{error}");
    }
    // A real signature by one key, presented as another key's.
    let token = sign_with(Algorithm::ES256, Some(&rs.kid), &es.encoding, &claims("mallory"));
    assert_eq!(refusal(&verifier, &token).await, "TOKEN_ALGORITHM");
}

#[tokio::test]
async fn expired_tokens_are_refused_beyond_the_leeway_only() {
    let (ed, _) = TestKey::eddsa();
    let verifier = verifier_for(&[&ed]).await; // 30 s leeway
    let expired = ed.sign(&with(claims("jane"), json!({"exp": now() - 120})));
    assert_eq!(refusal(&verifier, &expired).await, "TOKEN_EXPIRED");
    let just = ed.sign(&with(claims("jane"), json!({"exp": now() - 5})));
    assert!(verifier.verify(&just).await.is_ok(), "within the clock-skew leeway");
    let no_exp = ed.sign(&with(claims("jane"), json!({"exp": null})));
    let error = verifier.verify(&no_exp).await.expect_err("no exp");
    assert_eq!(error.reason(), "TOKEN_MALFORMED");
    assert!(error.to_string().contains("exp"), "{error}");
}

#[tokio::test]
async fn tokens_not_valid_yet_are_refused_beyond_the_leeway_only() {
    let (ed, _) = TestKey::eddsa();
    let verifier = verifier_for(&[&ed]).await;
    let later = ed.sign(&with(claims("jane"), json!({"nbf": now() + 300})));
    assert_eq!(refusal(&verifier, &later).await, "TOKEN_NOT_YET_VALID");
    let skewed = ed.sign(&with(claims("jane"), json!({"nbf": now() + 5})));
    assert!(verifier.verify(&skewed).await.is_ok(), "within the clock-skew leeway");
}

#[tokio::test]
async fn a_wrong_or_missing_issuer_is_refused_naming_the_trusted_one() {
    let (ed, _) = TestKey::eddsa();
    let verifier = verifier_for(&[&ed]).await;
    for changes in [json!({"iss": "someone-else"}), json!({"iss": null})] {
        let error = verifier.verify(&ed.sign(&with(claims("jane"), changes))).await.expect_err("issuer");
        assert_eq!(error.reason(), "TOKEN_ISSUER");
        assert!(error.to_string().contains(DEV_ISSUER), "{error}");
    }
}

#[tokio::test]
async fn a_wrong_or_missing_audience_is_refused() {
    let (ed, _) = TestKey::eddsa();
    let verifier = verifier_for(&[&ed]).await;
    for changes in [json!({"aud": "billing"}), json!({"aud": ["billing", "hr"]}), json!({"aud": null})] {
        let token = ed.sign(&with(claims("jane"), changes.clone()));
        assert_eq!(refusal(&verifier, &token).await, "TOKEN_AUDIENCE", "{changes}");
    }
}

#[tokio::test]
async fn an_unknown_kid_is_refused() {
    let (ed, _) = TestKey::eddsa();
    let (other, _) = TestKey::eddsa();
    let verifier = verifier_for(&[&ed, &TestKey::es256("ec-1")]).await;
    let error = verifier.verify(&other.sign(&claims("jane"))).await.expect_err("unknown");
    assert_eq!(error.reason(), "TOKEN_UNKNOWN_KEY");
    assert!(error.to_string().contains(&other.kid), "{error}");
    let no_kid = sign_with(Algorithm::EdDSA, None, &ed.encoding, &claims("jane"));
    assert_eq!(refusal(&verifier, &no_kid).await, "TOKEN_UNKNOWN_KEY", "no kid among several keys");
}

#[tokio::test]
async fn a_tampered_token_or_one_signed_by_another_key_fails_its_signature() {
    let (ed, _) = TestKey::eddsa();
    let rs = TestKey::rs256("rsa-1");
    let verifier = verifier_for(&[&ed, &rs]).await;
    for key in [&ed, &rs] {
        let token = key.sign(&claims("jane"));
        let mut parts: Vec<&str> = token.split('.').collect();
        let promoted = b64(&with(claims("jane"), json!({"roles": ["admin"]})));
        parts[1] = &promoted;
        assert_eq!(refusal(&verifier, &parts.join(".")).await, "TOKEN_SIGNATURE", "{:?}", key.alg);
    }
    let (impostor, _) = TestKey::eddsa();
    let forged = sign_with(Algorithm::EdDSA, Some(&ed.kid), &impostor.encoding, &claims("jane"));
    let error = verifier.verify(&forged).await.expect_err("forged");
    assert_eq!(error.reason(), "TOKEN_SIGNATURE");
    assert!(!error.to_string().contains(ed.jwk["x"].as_str().expect("x")), "no key material in: {error}");
}

#[tokio::test]
async fn malformed_tokens_are_refused_without_panicking() {
    let (ed, _) = TestKey::eddsa();
    let verifier = verifier_for(&[&ed]).await;
    let header = b64(&json!({"alg": "EdDSA", "kid": ed.kid}));
    let payload = b64(&claims("jane"));
    let long = "a".repeat(MAX_TOKEN_BYTES + 1);
    let cases = [
        "".to_owned(),
        "abc".to_owned(),
        "a.b".to_owned(),
        "a.b.c.d".to_owned(),
        format!("!!!.{payload}.sig"),
        format!("{}.{payload}.sig", URL_SAFE_NO_PAD.encode("not json")),
        format!("{header}.{}.AAAA", URL_SAFE_NO_PAD.encode("[1,2]")),
        format!("{header}.{payload}.!!!"),
        format!("{}.{payload}.x", b64(&json!({"alg": "EdDSA", "kid": 7}))),
        long,
    ];
    for token in &cases {
        let error = verifier.verify(token).await.expect_err("malformed");
        assert!(
            matches!(error.reason(), "TOKEN_MALFORMED" | "TOKEN_SIGNATURE"),
            "{}: {error}",
            &token[..token.len().min(40)]
        );
    }
    assert_eq!(refusal(&verifier, "abc").await, "TOKEN_MALFORMED");
    assert_eq!(refusal(&verifier, &format!("{}.{payload}.sig", URL_SAFE_NO_PAD.encode("x"))).await, "TOKEN_MALFORMED");
    let bad_roles = ed.sign(&with(claims("jane"), json!({"roles": 7})));
    assert_eq!(refusal(&verifier, &bad_roles).await, "TOKEN_MALFORMED");
}

#[tokio::test]
async fn a_missing_or_unusable_subject_is_refused() {
    let (ed, _) = TestKey::eddsa();
    let verifier = verifier_for(&[&ed]).await;
    let long = "x".repeat(201);
    for sub in [Value::Null, json!(""), json!("  "), json!(long), json!("a\u{7}b"), json!(42)] {
        let token = ed.sign(&with(claims("jane"), json!({"sub": sub.clone()})));
        assert_eq!(refusal(&verifier, &token).await, "TOKEN_SUBJECT", "{sub}");
    }
    let ok = ed.sign(&with(claims("jane"), json!({"sub": "x".repeat(200)})));
    assert!(verifier.verify(&ok).await.is_ok());
}

#[tokio::test]
async fn hs256_is_accepted_only_with_a_configured_shared_secret() {
    let secret = b"0123456789abcdef0123456789abcdef".to_vec();
    let verifier = Verifier::new(settings(KeySource::SharedSecret(secret.clone()))).await.expect("verifier");
    let token = sign_with(Algorithm::HS256, None, &EncodingKey::from_secret(&secret).expect("secret"), &claims("jane"));
    assert_eq!(verifier.verify(&token).await.expect("valid").subject, "jane");
    let wrong = sign_with(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(b"another secret entirely!!").expect("secret"),
        &claims("jane"),
    );
    assert_eq!(refusal(&verifier, &wrong).await, "TOKEN_SIGNATURE");
    let (ed, _) = TestKey::eddsa();
    assert_eq!(refusal(&verifier, &ed.sign(&claims("jane"))).await, "TOKEN_ALGORITHM");

    // A symmetric key in a JWKS is never trusted: HS256 needs the explicit setting.
    let oct = json!({"keys": [{"kty": "oct", "k": URL_SAFE_NO_PAD.encode(&secret), "kid": "k", "alg": "HS256"}]});
    let error = Verifier::new(settings(KeySource::Jwks(oct.to_string()))).await.expect_err("refused");
    assert!(error.to_string().contains("symmetric"), "{error}");
    assert!(Verifier::new(settings(KeySource::SharedSecret(Vec::new()))).await.is_err());
}

#[tokio::test]
async fn unusable_jwks_entries_are_skipped_and_a_jwks_without_usable_keys_is_refused() {
    let (ed, _) = TestKey::eddsa();
    let mut lying = TestKey::rs256("rsa-lying").jwk;
    lying["alg"] = json!("HS256");
    let short = json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "short"});
    let encryption = with(TestKey::es256("enc").jwk, json!({"use": "enc"}));
    let small_rsa = json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xc5u8; 64]), "e": "AQAB", "kid": "small"});
    let document = json!({"keys": [lying, short, encryption, small_rsa, ed.jwk.clone(), {"kty": "XYZ"}]});
    let verifier = Verifier::new(settings(KeySource::Jwks(document.to_string()))).await.expect("one usable key");
    assert!(verifier.verify(&ed.sign(&claims("jane"))).await.is_ok());
    assert_eq!(verifier.inner.keys.load().keys.len(), 1);

    for bad in ["", "{}", "[]", r#"{"keys": []}"#, r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AA"}]}"#] {
        assert!(Verifier::new(settings(KeySource::Jwks(bad.to_owned()))).await.is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_verified_token_is_answered_from_the_cache_the_second_time() {
    let (ed, _) = TestKey::eddsa();
    let verifier = verifier_for(&[&ed]).await;
    let token = ed.sign(&claims("jane"));
    let first = verifier.verify(&token).await.expect("valid");
    let second = verifier.verify(&token).await.expect("valid");
    assert_eq!(first, second);
    assert_eq!(verifier.verifications(), 1, "the second call is a cache hit");
    let refused = ed.sign(&with(claims("jane"), json!({"iss": "x"})));
    for _ in 0..2 {
        assert!(verifier.verify(&refused).await.is_err());
    }
    assert_eq!(verifier.verifications(), 3, "refusals are not cached");
}

#[tokio::test]
async fn the_cache_never_answers_for_a_token_past_its_expiry() {
    let (ed, _) = TestKey::eddsa();
    let mut zero_leeway = settings(KeySource::Jwks(jwks(&[&ed])));
    zero_leeway.leeway = Duration::ZERO;
    let verifier = Verifier::new(zero_leeway).await.expect("verifier");
    // Two seconds to run, so both calls below fall before exp even if a second ticks between them.
    let exp = now() + 2;
    let token = ed.sign(&with(claims("jane"), json!({"exp": exp})));
    assert!(verifier.verify(&token).await.is_ok());
    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(verifier.verifications(), 1);
    while now() <= exp {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(refusal(&verifier, &token).await, "TOKEN_EXPIRED");
    assert_eq!(verifier.verifications(), 2, "verified again, not served from the cache");
}

#[test]
fn the_cache_stays_bounded() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let (ed, _) = TestKey::eddsa();
    let verifier = runtime.block_on(verifier_for(&[&ed]));
    let identity = Identity::development("x");
    let now = unix_now();
    for i in 0..(CACHE_CAPACITY as u64 + 10) {
        let digest: [u8; 32] = Sha256::digest(i.to_le_bytes()).into();
        verifier.inner.remember(digest, &identity, now + 600, now);
    }
    let size = verifier.inner.cache.lock().expect("cache").len();
    assert!(size <= CACHE_CAPACITY, "{size}");
}

#[tokio::test]
async fn a_rotated_jwks_file_is_picked_up_on_an_unknown_kid_and_the_floor_prevents_a_refetch_storm() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("jwks.json");
    let (old, _) = TestKey::eddsa();
    let (new, _) = TestKey::eddsa();
    std::fs::write(&path, jwks(&[&old])).expect("write");
    let mut file_settings = settings(KeySource::JwksFile(path.clone()));
    file_settings.refetch_floor = Duration::from_secs(3600);
    let verifier = Verifier::new(file_settings).await.expect("verifier");
    assert!(verifier.verify(&old.sign(&claims("jane"))).await.is_ok());
    assert_eq!(verifier.reads(), 1);

    std::fs::write(&path, jwks(&[&new])).expect("rotate");
    let identity = verifier.verify(&new.sign(&claims("jane"))).await.expect("the new key is fetched");
    assert_eq!(identity.subject, "jane");
    assert_eq!(verifier.reads(), 2);

    // A flood of made-up key ids (concurrently) costs no further reads within the floor.
    let (stranger, _) = TestKey::eddsa();
    let refusals = futures::future::join_all((0..50).map(|i| {
        let token = sign_with(Algorithm::EdDSA, Some(&format!("made-up-{i}")), &stranger.encoding, &claims("x"));
        let verifier = &verifier;
        async move { verifier.verify(&token).await }
    }))
    .await;
    assert!(refusals.iter().all(|r| matches!(r, Err(TokenError::UnknownKey(_)))));
    assert_eq!(verifier.reads(), 2, "the floor held");
    // The old key is gone with the rotation (and its cached token with it).
    assert_eq!(refusal(&verifier, &old.sign(&claims("jane"))).await, "TOKEN_UNKNOWN_KEY");
}

#[tokio::test]
async fn the_refresh_timer_re_reads_the_keys_keeps_them_when_a_read_fails_and_stops_with_the_verifier() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("jwks.json");
    let (first, _) = TestKey::eddsa();
    let (second, _) = TestKey::eddsa();
    std::fs::write(&path, jwks(&[&first])).expect("write");
    let mut timed = settings(KeySource::JwksFile(path.clone()));
    timed.refresh = Duration::from_secs(1);
    timed.refetch_floor = Duration::from_secs(3600);
    let verifier = Verifier::new(timed).await.expect("verifier");
    // Used up by the floor: only the timer can bring in a new key now.
    assert!(verifier.verify(&sign_with(Algorithm::EdDSA, Some("nope"), &first.encoding, &claims("x"))).await.is_err());

    std::fs::write(&path, jwks(&[&first, &second])).expect("add a key");
    // Polled rather than slept for a fixed time: the timer fires each second, later on a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(10);
    let token = second.sign(&claims("jane"));
    while verifier.verify(&token).await.is_err() {
        assert!(Instant::now() < deadline, "the timer never re-read the keys");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    std::fs::write(&path, "{ not json").expect("break");
    let reads = verifier.reads();
    while verifier.reads() < reads + 1 {
        assert!(Instant::now() < deadline, "the timer stopped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(verifier.verify(&first.sign(&claims("sam"))).await.is_ok(), "the old keys are kept");
    assert!(verifier.verify(&second.sign(&claims("sam"))).await.is_ok());

    let inner = Arc::downgrade(&verifier.inner);
    drop(verifier);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(inner.strong_count(), 0, "the timer task holds nothing once the verifier is gone");
}

/// A local HTTPS server (certificate from a throwaway CA) serving `body` to every request; counts requests.
async fn https_server(body: String) -> (u16, PathBuf, Arc<AtomicU64>, tempfile::TempDir) {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("server key");
    let server_params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let server_cert = server_params.signed_by(&server_key, &issuer).expect("server cert");

    let dir = tempfile::tempdir().expect("dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).expect("ca file");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![server_cert.der().clone()], key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let requests = Arc::new(AtomicU64::new(0));
    let counter = requests.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, body, counter) = (acceptor.clone(), body.clone(), counter.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buffer = vec![0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buffer[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, ca_file, requests, dir)
}

#[tokio::test]
async fn a_jwks_is_fetched_over_https_trusting_the_given_ca() {
    let (ed, _) = TestKey::eddsa();
    let (port, ca_file, requests, _dir) = https_server(jwks(&[&ed])).await;
    let url = format!("https://localhost:{port}/.well-known/jwks.json");
    let source = KeySource::JwksUrl { url: url.clone(), ca_file: Some(ca_file) };
    let verifier = Verifier::new(settings(source)).await.expect("fetched");
    assert!(verifier.verify(&ed.sign(&claims("jane"))).await.is_ok());
    assert_eq!(requests.load(Ordering::SeqCst), 1);

    // The web PKI does not know the throwaway CA.
    let error = Verifier::new(settings(KeySource::JwksUrl { url, ca_file: None })).await.expect_err("untrusted");
    assert!(error.to_string().contains("TLS"), "{error}");
}

#[tokio::test]
async fn plain_http_jwks_urls_are_refused_except_on_loopback() {
    for url in ["http://issuer.example.com/jwks.json", "ftp://localhost/jwks", "not a url"] {
        let error = Verifier::new(settings(KeySource::JwksUrl { url: url.to_owned(), ca_file: None }))
            .await
            .expect_err("refused");
        assert!(matches!(error, KeyError::Fetch { .. }), "{url}: {error}");
    }
    // Loopback http is allowed (here nothing listens, so the fetch itself fails, quickly).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let error =
        Verifier::new(settings(KeySource::JwksUrl { url: format!("http://127.0.0.1:{port}/jwks"), ca_file: None }))
            .await
            .expect_err("nothing listens");
    assert!(error.to_string().contains("connect"), "{error}");
}

/// Runs `script` with PyJWT; `None` (after saying why) when PyJWT is not installed, except on CI.
fn python(script: &str, args: &[&str]) -> Option<String> {
    let on_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let output = std::process::Command::new("python3").arg("-c").arg(script).args(args).output();
    let output = match output {
        Ok(output) => output,
        Err(e) => {
            assert!(!on_ci, "python3 is needed on CI for the PyJWT cross-check: {e}");
            eprintln!("skipped: python3 is not available ({e})");
            return None;
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && stderr.contains("No module named") {
        assert!(!on_ci, "PyJWT is needed on CI (pip install pyjwt cryptography): {stderr}");
        eprintln!("skipped: PyJWT is not installed (pip install pyjwt cryptography)");
        return None;
    }
    assert!(output.status.success(), "python failed: {stderr}");
    Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[test]
fn pyjwt_verifies_a_dev_key_token_with_the_published_jwk() {
    let key = DevKey::generate().expect("key");
    let mut claims = MintClaims::new("jane", Roles::of(&[Role::Officer]));
    claims.display_name = Some("Jane Doe".to_owned());
    let token = key.mint(&claims).expect("minted");
    let script = r#"
import json, sys, jwt
token, jwk = sys.argv[1], json.loads(sys.argv[2])
key = jwt.PyJWK(jwk)
assert jwt.get_unverified_header(token)["kid"] == jwk["kid"]
claims = jwt.decode(token, key=key, algorithms=["EdDSA"], audience="liaison", issuer="liaison-dev")
print(json.dumps({"sub": claims["sub"], "roles": claims["roles"], "name": claims["name"]}))
"#;
    let Some(out) = python(script, &[&token, &key.jwk().to_string()]) else { return };
    let decoded: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(decoded, json!({"sub": "jane", "roles": ["officer"], "name": "Jane Doe"}));
}

#[tokio::test]
async fn a_pyjwt_eddsa_token_verifies_with_our_verifier() {
    let script = r#"
import json, time, jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
private = Ed25519PrivateKey.generate()
jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
jwk.update({"kid": "python-1", "alg": "EdDSA", "use": "sig"})
token = jwt.encode({"iss": "liaison-dev", "aud": "liaison", "sub": "py", "exp": int(time.time()) + 600,
                    "roles": "mediator viewer"}, private, algorithm="EdDSA", headers={"kid": "python-1"})
print(json.dumps({"jwks": {"keys": [jwk]}, "token": token}))
"#;
    let Some(out) = python(script, &[]) else { return };
    let made: Value = serde_json::from_str(&out).expect("json");
    let verifier = Verifier::new(settings(KeySource::Jwks(made["jwks"].to_string()))).await.expect("verifier");
    let identity = verifier.verify(made["token"].as_str().expect("token")).await.expect("verified");
    assert_eq!(identity.subject, "py");
    assert_eq!(identity.roles, Roles::of(&[Role::Mediator, Role::Viewer]));
}
