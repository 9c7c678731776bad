//! JWT authentication, as Agno 3.1.10's `JWTMiddleware`: tokens verified
//! with `jsonwebtoken` (RS256 by default, or HS256, ES256, ...) against
//! verification keys or a JWKS file, the user from a claim (`sub`), the
//! scopes from a claim (`scopes`), audience and issuer checked when asked,
//! 10 s of leeway, the token from the `Authorization` header or a cookie.
//! Errors are Agno's (401 `{"detail": ...}`); nothing of a token is logged.

use std::collections::HashMap;
use std::path::Path;

pub use jsonwebtoken::Algorithm;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;

/// Where a request's token is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (Agno's default).
    #[default]
    Header,
    /// The cookie [`JwtConfig::cookie_name`].
    Cookie,
    /// The header, else the cookie.
    Both,
}

/// How an AgentOS verifies JWTs and what it does with them
/// ([`AgentOSBuilder::jwt`](crate::AgentOSBuilder::jwt)). Agno's options,
/// with Agno's defaults.
#[derive(Clone)]
pub struct JwtConfig {
    /// The algorithm tokens are signed with (one; default RS256).
    pub algorithm: Algorithm,
    /// Verification keys, tried in order: PEM public keys for RS/PS/ES
    /// algorithms, the shared secret for HS ones. `JWT_VERIFICATION_KEY`
    /// is used when none is given here.
    pub verification_keys: Vec<String>,
    /// A JWKS file (`{"keys": [...]}`), its keys chosen by the token's
    /// `kid` (a key without one is the default); tried before the keys
    /// above. `JWT_JWKS_FILE` when neither is given here.
    pub jwks_file: Option<String>,
    /// The claim holding the user's id (default `sub`).
    pub user_id_claim: String,
    /// The claim holding the scopes, a list or one string (default
    /// `scopes`).
    pub scopes_claim: String,
    /// Whether the audience (`aud`) is checked (default no).
    pub verify_audience: bool,
    /// The audience expected; the AgentOS id when `None`.
    pub audience: Option<Vec<String>>,
    /// The issuer (`iss`) expected, if any.
    pub issuer: Option<String>,
    /// Seconds of clock difference allowed for `exp`, `nbf` and `iat`
    /// (Agno's fixed 10).
    pub leeway_secs: u64,
    /// Where the token is read (default the header).
    pub token_source: TokenSource,
    /// The cookie it is read from (default `access_token`).
    pub cookie_name: String,
    /// Whether routes check scopes (Agno's `authorization=True`; default
    /// on here, where a program configures JWT on purpose; with only
    /// `JWT_VERIFICATION_KEY` in the environment, as Agno, tokens are
    /// verified and scopes are not checked).
    pub check_scopes: bool,
    /// The scope that passes every check and sees every user's data
    /// (default `agent_os:admin`).
    pub admin_scope: String,
    /// Whether every session, run, job and trace route is scoped to the
    /// token's user (Agno's `user_isolation`; default off).
    pub user_isolation: bool,
    /// How many verified tokens are remembered, so a client's next request
    /// with the same token skips the signature (default
    /// [`REMEMBERED_TOKENS`]; 0: verify every time). A remembered token
    /// still expires at its `exp`.
    pub remembered_tokens: usize,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("algorithm", &self.algorithm)
            .field("verification_keys", &self.verification_keys.len())
            .field("jwks_file", &self.jwks_file)
            .field("check_scopes", &self.check_scopes)
            .field("user_isolation", &self.user_isolation)
            .finish_non_exhaustive()
    }
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::RS256,
            verification_keys: Vec::new(),
            jwks_file: None,
            user_id_claim: "sub".into(),
            scopes_claim: "scopes".into(),
            verify_audience: false,
            audience: None,
            issuer: None,
            leeway_secs: 10,
            token_source: TokenSource::Header,
            cookie_name: "access_token".into(),
            check_scopes: true,
            admin_scope: "agent_os:admin".into(),
            user_isolation: false,
            remembered_tokens: REMEMBERED_TOKENS,
        }
    }
}

impl JwtConfig {
    /// HS256 with `secret`.
    pub fn hs256(secret: impl Into<String>) -> Self {
        Self {
            algorithm: Algorithm::HS256,
            verification_keys: vec![secret.into()],
            ..Self::default()
        }
    }

    /// RS256 with the PEM public key `pem`.
    pub fn rs256(pem: impl Into<String>) -> Self {
        Self {
            verification_keys: vec![pem.into()],
            ..Self::default()
        }
    }

    /// `JWT_VERIFICATION_KEY` / `JWT_JWKS_FILE` from the environment, as
    /// Agno reads them: `None` when neither is set. Tokens are then
    /// verified and scopes are not checked (Agno without
    /// `authorization=True`).
    pub fn from_env() -> Option<Self> {
        let key = std::env::var("JWT_VERIFICATION_KEY")
            .ok()
            .filter(|k| !k.is_empty());
        let jwks = std::env::var("JWT_JWKS_FILE")
            .ok()
            .filter(|k| !k.is_empty());
        if key.is_none() && jwks.is_none() {
            return None;
        }
        Some(Self {
            verification_keys: key.into_iter().collect(),
            jwks_file: jwks,
            check_scopes: false,
            ..Self::default()
        })
    }
}

/// Why a JWT configuration cannot be used (at `build()`).
#[derive(Debug, thiserror::Error)]
pub enum JwtConfigError {
    /// No key at all.
    #[error(
        "JWT is on but has no verification key: give JwtConfig::verification_keys or jwks_file (or set JWT_VERIFICATION_KEY or JWT_JWKS_FILE)"
    )]
    NoKeys,
    /// A key that is not one for the algorithm.
    #[error("JWT verification key {index} is not a {algorithm:?} key: {reason}")]
    BadKey {
        /// Its position.
        index: usize,
        /// The algorithm.
        algorithm: Algorithm,
        /// Why.
        reason: String,
    },
    /// The JWKS file cannot be read.
    #[error("JWKS file {path}: {reason}")]
    Jwks {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// A verified token's claims, as the server uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verified {
    /// The user's id claim.
    pub(crate) user_id: Option<String>,
    /// The scopes claim.
    pub(crate) scopes: Vec<String>,
}

/// A token refused: Agno's 401 detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused(pub(crate) String);

/// How many verified tokens are remembered by default (a client sends the
/// same token with every request until it expires: verifying an RS256
/// signature again costs about 90 µs, a lookup well under one).
pub const REMEMBERED_TOKENS: usize = 4096;

/// The longest token remembered (longer ones are verified every time).
const MAX_CACHED_TOKEN: usize = 8 * 1024;

/// A token verified before, and until when it holds.
#[derive(Clone)]
struct Remembered {
    verified: Verified,
    /// Its `exp` (`None`: it has none).
    expires: Option<u64>,
}

/// A verified token's `exp`, as far as remembering it goes.
enum Expiry {
    /// No `exp`: valid until the keys change.
    Never,
    /// Epoch seconds.
    At(u64),
    /// An `exp` not in whole seconds: verified every time.
    Unclear,
}

/// The keys and rules of a [`JwtConfig`], ready to verify.
pub(crate) struct JwtVerifier {
    config: JwtConfig,
    /// Tokens verified, by their exact text: only a token that passed
    /// every check is here, and its expiry is checked at each use.
    verified: quick_cache::sync::Cache<String, Remembered>,
    keys: Vec<DecodingKey>,
    jwks: HashMap<String, DecodingKey>,
    jwks_default: Option<DecodingKey>,
    validation: Validation,
    audience: Vec<String>,
}

impl JwtVerifier {
    /// Reads the keys of `config` (`os_id`: the audience when it names
    /// none).
    pub(crate) fn new(config: JwtConfig, os_id: &str) -> Result<Self, JwtConfigError> {
        let mut keys = Vec::new();
        for (index, key) in config.verification_keys.iter().enumerate() {
            keys.push(decoding_key(config.algorithm, key).map_err(|reason| {
                JwtConfigError::BadKey {
                    index,
                    algorithm: config.algorithm,
                    reason,
                }
            })?);
        }
        let (mut jwks, mut jwks_default) = (HashMap::new(), None);
        if let Some(path) = &config.jwks_file {
            let set = read_jwks(Path::new(path)).map_err(|reason| JwtConfigError::Jwks {
                path: path.clone(),
                reason,
            })?;
            for jwk in &set.keys {
                match DecodingKey::from_jwk(jwk) {
                    Ok(key) => match &jwk.common.key_id {
                        Some(kid) => {
                            jwks.insert(kid.clone(), key);
                        }
                        None => jwks_default = Some(key),
                    },
                    Err(error) => tracing::warn!(%error, "a JWKS key cannot be used: left out"),
                }
            }
        }
        if keys.is_empty() && jwks.is_empty() && jwks_default.is_none() {
            return Err(JwtConfigError::NoKeys);
        }
        let mut validation = Validation::new(config.algorithm);
        validation.leeway = config.leeway_secs;
        // As Agno (PyJWT's defaults): `exp` checked when present, not
        // required; `nbf` checked; the audience checked below, by hand.
        validation.required_spec_claims.clear();
        validation.validate_nbf = true;
        validation.validate_aud = false;
        let audience = match &config.audience {
            Some(audience) => audience.clone(),
            None => vec![os_id.to_owned()],
        };
        let verified = quick_cache::sync::Cache::new(config.remembered_tokens.max(1));
        Ok(Self {
            config,
            verified,
            keys,
            jwks,
            jwks_default,
            validation,
            audience,
        })
    }

    pub(crate) fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// Verifies `token`: its signature by the JWKS key its `kid` names
    /// (else the JWKS default), then each verification key in turn; its
    /// times; its audience and issuer when asked. A token verified before
    /// is only checked for expiry.
    pub(crate) fn verify(&self, token: &str) -> Result<Verified, Refused> {
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(known) = self.verified.get(token) {
            return match known.expires {
                Some(exp) if now > exp.saturating_add(self.config.leeway_secs) => {
                    self.verified.remove(token);
                    Err(Refused("Token has expired".into()))
                }
                _ => Ok(known.verified),
            };
        }
        let (verified, expiry) = self.verify_anew(token)?;
        let expires = match expiry {
            Expiry::Never => None,
            Expiry::At(exp) => Some(exp),
            Expiry::Unclear => return Ok(verified),
        };
        if token.len() <= MAX_CACHED_TOKEN && self.config.remembered_tokens > 0 {
            let remembered = Remembered {
                verified: verified.clone(),
                expires,
            };
            self.verified.insert(token.to_owned(), remembered);
        }
        Ok(verified)
    }

    /// [`verify`](Self::verify) without the memory: the verified claims
    /// and the token's expiry.
    fn verify_anew(&self, token: &str) -> Result<(Verified, Expiry), Refused> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| refused(&e))?;
        let jwks_key = header
            .kid
            .as_ref()
            .and_then(|kid| self.jwks.get(kid))
            .or(self.jwks_default.as_ref());
        let mut last = None;
        let mut claims = None;
        for key in jwks_key.into_iter().chain(&self.keys) {
            match jsonwebtoken::decode::<Value>(token, key, &self.validation) {
                Ok(data) => {
                    claims = Some(data.claims);
                    break;
                }
                // An expired token is expired whatever the next key says.
                Err(error) if *error.kind() == ErrorKind::ExpiredSignature => {
                    return Err(Refused("Token has expired".into()));
                }
                Err(error) => last = Some(error),
            }
        }
        let claims = match (claims, last) {
            (Some(claims), _) => claims,
            (None, Some(error)) => return Err(refused(&error)),
            (None, None) => {
                return Err(Refused(
                    "Invalid token: No verification keys configured".into(),
                ));
            }
        };
        if self.config.verify_audience {
            let found: Vec<&str> = match claims.get("aud") {
                Some(Value::String(aud)) => vec![aud.as_str()],
                Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
                _ => {
                    return Err(Refused(
                        "Invalid token: Token is missing the \"aud\" claim. Audience verification requires this claim to be present in the token.".into(),
                    ));
                }
            };
            if !found
                .iter()
                .any(|aud| self.audience.iter().any(|a| a == aud))
            {
                return Err(Refused(
                    "Invalid token audience - token not valid for this AgentOS instance".into(),
                ));
            }
        }
        if let Some(issuer) = &self.config.issuer {
            match claims.get("iss").and_then(Value::as_str) {
                Some(iss) if iss == issuer => {}
                Some(iss) => {
                    return Err(Refused(format!(
                        "Invalid token: Invalid issuer. Expected: {issuer}, got: {iss}"
                    )));
                }
                None => {
                    return Err(Refused(
                        "Invalid token: Token is missing the \"iss\" claim. Issuer verification requires this claim to be present in the token.".into(),
                    ));
                }
            }
        }
        let user_id = match claims.get(&self.config.user_id_claim) {
            Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let scopes = match claims.get(&self.config.scopes_claim) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        let expiry = match claims.get("exp") {
            None => Expiry::Never,
            Some(exp) => exp.as_u64().map_or(Expiry::Unclear, Expiry::At),
        };
        Ok((Verified { user_id, scopes }, expiry))
    }
}

fn decoding_key(algorithm: Algorithm, key: &str) -> Result<DecodingKey, String> {
    use Algorithm::*;
    let pem = key.as_bytes();
    match algorithm {
        HS256 | HS384 | HS512 => {
            DecodingKey::from_secret(key.as_bytes()).map_err(|e| e.to_string())
        }
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => {
            DecodingKey::from_rsa_pem(pem).map_err(|e| e.to_string())
        }
        ES256 | ES384 => DecodingKey::from_ec_pem(pem).map_err(|e| e.to_string()),
        EdDSA => DecodingKey::from_ed_pem(pem).map_err(|e| e.to_string()),
        other => Err(format!("{other:?} is not supported")),
    }
}

fn read_jwks(path: &Path) -> Result<JwkSet, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot be read: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("is not a JWKS ({{\"keys\": [...]}}): {e}"))
}

/// Agno's words (PyJWT's) for why a token is refused.
fn refused(error: &jsonwebtoken::errors::Error) -> Refused {
    let reason = match error.kind() {
        ErrorKind::ExpiredSignature => return Refused("Token has expired".into()),
        ErrorKind::InvalidSignature => "Signature verification failed".to_owned(),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            "The specified alg value is not allowed".to_owned()
        }
        ErrorKind::InvalidToken => "Not enough segments".to_owned(),
        ErrorKind::ImmatureSignature => "The token is not yet valid (nbf)".to_owned(),
        ErrorKind::Base64(_) => "Invalid header padding".to_owned(),
        ErrorKind::Json(e) => format!("Invalid header string: {e}"),
        ErrorKind::Utf8(_) => "Invalid header string".to_owned(),
        _ => error.to_string(),
    };
    Refused(format!("Invalid token: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    const SECRET: &str = "a-unit-test-secret-of-32-bytes!!";

    fn token(claims: Value) -> String {
        let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
    }

    fn verifier() -> JwtVerifier {
        JwtVerifier::new(
            JwtConfig {
                leeway_secs: 0,
                ..JwtConfig::hs256(SECRET)
            },
            "os",
        )
        .unwrap()
    }

    #[test]
    fn a_remembered_token_still_expires() {
        let verifier = verifier();
        let now = jsonwebtoken::get_current_timestamp();
        let good = token(serde_json::json!({"sub": "alice", "exp": now + 600}));
        assert_eq!(
            verifier.verify(&good).unwrap().user_id.as_deref(),
            Some("alice")
        );
        assert!(verifier.verified.get(good.as_str()).is_some(), "remembered");
        // Its time passes while it is remembered.
        let mut remembered = verifier.verified.get(good.as_str()).unwrap();
        remembered.expires = Some(now - 1);
        verifier.verified.insert(good.clone(), remembered);
        assert_eq!(verifier.verify(&good).unwrap_err().0, "Token has expired");
        assert!(verifier.verified.get(good.as_str()).is_none(), "forgotten");
        assert_eq!(
            verifier.verify(&good).unwrap().user_id.as_deref(),
            Some("alice")
        );
    }

    #[test]
    fn only_tokens_that_passed_are_remembered() {
        let verifier = verifier();
        let now = jsonwebtoken::get_current_timestamp();
        let expired = token(serde_json::json!({"sub": "a", "exp": now - 60}));
        assert!(verifier.verify(&expired).is_err());
        assert!(verifier.verify("not.a.token").is_err());
        assert_eq!(verifier.verified.len(), 0);
        let fractional = token(serde_json::json!({"sub": "a", "exp": (now + 600) as f64 + 0.5}));
        if verifier.verify(&fractional).is_ok() {
            assert_eq!(
                verifier.verified.len(),
                0,
                "an exp not in whole seconds is checked every time"
            );
        }
    }
}
