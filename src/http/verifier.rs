//! Which tokens authenticate a notification, kept fresh without polling.
//!
//! The tokens are read once at cold start. A notification whose token
//! matches none of them may be the first one of a rotation this instance
//! has not seen: the store is re-read before the 401, but at most once per
//! [`REREAD_INTERVAL`], so a flood of bad tokens costs one read a minute,
//! not one per request. The cold start's read is not a re-read: the first
//! unknown token after it may re-read at once.
//!
//! Tokens held longer than [`MAX_TOKEN_AGE`] are re-read on the next
//! notification even when it carries the current token (as rarely): a value
//! put into the secret outright, to revoke a leaked token, stops the leaked
//! one on every warm instance within that age, although nothing an instance
//! sees tells it the secret changed.

use super::auth;
use crate::token::{TokenMatch, TokenSet, VerificationToken};
use crate::token_store::{Fixed, TokenStore, TokenStoreError};
use lambda_http::http::HeaderMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const REREAD_INTERVAL: Duration = Duration::from_secs(60);
/// One read per instance every five minutes at most: a few cents a month,
/// and ~10-20 ms on one notification in that time.
pub const MAX_TOKEN_AGE: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub struct Verifier<T> {
    store: T,
    reread_interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: Arc<TokenSet>,
    /// When `tokens` were read.
    read_at: Instant,
    last_reread: Option<Instant>,
}

impl Verifier<Fixed> {
    /// One token that never changes (`VERIFICATION_TOKEN`).
    pub fn fixed(token: VerificationToken) -> Self {
        let tokens = TokenSet::single(token);
        Self::with(Fixed(tokens.clone()), tokens, REREAD_INTERVAL)
    }
}

impl<T: TokenStore> Verifier<T> {
    /// Reads the store once (at cold start).
    pub async fn load(store: T) -> Result<Self, TokenStoreError> {
        let tokens = store.read().await?;
        Ok(Self::with(store, tokens, REREAD_INTERVAL))
    }

    /// `tokens` as just read from `store`; re-read no more often than `reread_interval`.
    pub fn with(store: T, tokens: TokenSet, reread_interval: Duration) -> Self {
        Self {
            store,
            reread_interval,
            state: Mutex::new(State {
                tokens: Arc::new(tokens),
                read_at: Instant::now(),
                last_reread: None,
            }),
        }
    }

    /// Whether the request carries one of the tokens, re-reading them first
    /// when it carries none that is known and the last read is old enough.
    ///
    /// A match on the previous token also re-reads (as rarely): once a
    /// rotation has finished, the old token stops working within the
    /// interval on warm instances too, which is what revoking a leaked
    /// token needs. So does a match on the current one once the tokens held
    /// are older than [`MAX_TOKEN_AGE`].
    pub async fn authenticate(&self, headers: &HeaderMap) -> bool {
        let (tokens, read_at) = {
            let state = self.lock();
            (state.tokens.clone(), state.read_at)
        };
        let known = auth::authenticated(&tokens, headers);
        let worth_a_reread = match known {
            TokenMatch::Current => read_at.elapsed() >= MAX_TOKEN_AGE,
            TokenMatch::Previous => true,
            TokenMatch::None => auth::carries_token(headers),
        };
        if !(worth_a_reread && self.store.can_change() && self.claim_reread()) {
            return known != TokenMatch::None;
        }
        match self.store.read().await {
            Ok(tokens) => {
                let tokens = Arc::new(tokens);
                tracing::info!(
                    rotating = tokens.rotating(),
                    "re-read the verification tokens after an unknown, previous or old one"
                );
                let mut state = self.lock();
                state.tokens = tokens.clone();
                state.read_at = Instant::now();
                drop(state);
                auth::authenticated(&tokens, headers) != TokenMatch::None
            }
            Err(error) => {
                // The tokens read before still stand, for this request too.
                tracing::warn!("re-reading the verification tokens failed, kept the ones read before: {error}");
                known != TokenMatch::None
            }
        }
    }

    /// Takes the right to re-read, when the last read is old enough.
    fn claim_reread(&self) -> bool {
        let mut state = self.lock();
        let now = Instant::now();
        let due = state
            .last_reread
            .is_none_or(|last| now.duration_since(last) >= self.reread_interval);
        if due {
            state.last_reread = Some(now);
        }
        due
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics while holding it; were it poisoned, the state is still whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token_store::memory::MemoryTokens;
    use std::sync::atomic::Ordering;

    fn set(current: &str, previous: Option<&str>) -> TokenSet {
        TokenSet {
            current: VerificationToken::parse(current.into()).unwrap(),
            previous: previous.map(|p| VerificationToken::parse(p.into()).unwrap()),
            retiring: Vec::new(),
            successor: None,
            current_since: None,
        }
    }

    fn carrying(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(auth::VERIFICATION_TOKEN, token.parse().unwrap());
        headers
    }

    fn verifier(store: MemoryTokens, interval: Duration) -> Verifier<MemoryTokens> {
        let tokens = store.current();
        Verifier::with(store, tokens, interval)
    }

    #[tokio::test]
    async fn both_tokens_of_a_rotation_authenticate_without_a_reread() {
        let v = verifier(MemoryTokens::new(set("new", Some("old"))), REREAD_INTERVAL);
        v.lock().last_reread = Some(Instant::now());
        assert!(v.authenticate(&carrying("new")).await);
        assert!(v.authenticate(&carrying("old")).await);
        assert_eq!(v.store.reads(), 0);
    }

    #[tokio::test]
    async fn an_unknown_token_rereads_and_picks_up_a_rotation_at_once() {
        let v = verifier(MemoryTokens::new(set("old", None)), Duration::ZERO);
        v.store.replace(set("new", Some("old")));
        assert!(
            v.authenticate(&carrying("new")).await,
            "the rotation's token, on its first delivery"
        );
        assert_eq!(v.store.reads(), 1);
        assert!(v.authenticate(&carrying("new")).await);
        assert_eq!(v.store.reads(), 1, "the current token needs no read");
    }

    #[tokio::test]
    async fn a_flood_of_bad_tokens_costs_one_read_per_interval() {
        let v = verifier(MemoryTokens::new(set("good", None)), REREAD_INTERVAL);
        for _ in 0..1000 {
            assert!(!v.authenticate(&carrying("forged")).await);
        }
        assert_eq!(v.store.reads(), 1, "the first one re-reads, the rest wait a minute");
        v.lock().last_reread = Instant::now().checked_sub(REREAD_INTERVAL);
        for _ in 0..1000 {
            assert!(!v.authenticate(&carrying("forged")).await);
        }
        assert_eq!(v.store.reads(), 2, "one more once the interval has passed");
        let no_token = HeaderMap::new();
        v.lock().last_reread = None;
        assert!(!v.authenticate(&no_token).await);
        assert_eq!(v.store.reads(), 2, "a request with no token at all re-reads nothing");
    }

    #[tokio::test]
    async fn the_previous_token_is_accepted_without_a_read_within_the_interval() {
        let v = verifier(MemoryTokens::new(set("new", Some("old"))), REREAD_INTERVAL);
        for _ in 0..100 {
            assert!(v.authenticate(&carrying("old")).await);
        }
        assert_eq!(v.store.reads(), 1);
    }

    #[tokio::test]
    async fn a_token_replaced_outright_stops_working_once_the_tokens_held_are_old() {
        let v = verifier(MemoryTokens::new(set("leaked", None)), REREAD_INTERVAL);
        // The operator puts a new value into the secret, with no previous.
        v.store.replace(set("fresh", None));
        assert!(
            v.authenticate(&carrying("leaked")).await,
            "still current in what was read"
        );
        assert_eq!(v.store.reads(), 0, "a current token read recently needs no read");
        v.lock().read_at = Instant::now().checked_sub(MAX_TOKEN_AGE).unwrap();
        assert!(!v.authenticate(&carrying("leaked")).await, "re-read: no longer a token");
        assert_eq!(v.store.reads(), 1);
        assert!(v.authenticate(&carrying("fresh")).await);
        assert_eq!(v.store.reads(), 1, "the tokens are fresh again");
    }

    #[tokio::test]
    async fn old_tokens_are_reread_no_more_often_than_the_interval_when_the_store_fails() {
        let v = verifier(MemoryTokens::new(set("good", None)), REREAD_INTERVAL);
        v.lock().read_at = Instant::now().checked_sub(MAX_TOKEN_AGE).unwrap();
        v.store.failing.store(true, Ordering::SeqCst);
        for _ in 0..100 {
            assert!(v.authenticate(&carrying("good")).await, "the tokens held still stand");
        }
        assert_eq!(v.store.reads(), 1);
    }

    #[tokio::test]
    async fn a_failed_reread_keeps_the_tokens_read_before() {
        let v = verifier(MemoryTokens::new(set("good", None)), Duration::ZERO);
        v.store.failing.store(true, Ordering::SeqCst);
        assert!(!v.authenticate(&carrying("other")).await);
        assert!(v.authenticate(&carrying("good")).await);
        assert_eq!(v.store.reads(), 1);
    }

    #[tokio::test]
    async fn once_a_rotation_is_over_the_previous_token_stops_working_within_the_interval() {
        let v = verifier(MemoryTokens::new(set("new", Some("old"))), Duration::ZERO);
        assert!(v.authenticate(&carrying("old")).await, "still previous");
        assert_eq!(v.store.reads(), 1);
        v.store.replace(set("new", None));
        assert!(!v.authenticate(&carrying("old")).await, "dropped by the rotation");
        assert!(v.authenticate(&carrying("new")).await);
        assert_eq!(v.store.reads(), 2, "the current token needs no read");
    }

    #[tokio::test]
    async fn a_failed_reread_on_the_previous_token_still_accepts_it() {
        let v = verifier(MemoryTokens::new(set("new", Some("old"))), Duration::ZERO);
        v.store.failing.store(true, Ordering::SeqCst);
        assert!(v.authenticate(&carrying("old")).await);
        assert_eq!(v.store.reads(), 1);
    }

    #[tokio::test]
    async fn a_fixed_token_is_never_reread() {
        let v = Verifier::fixed(VerificationToken::parse("good".into()).unwrap());
        assert!(!v.authenticate(&carrying("other")).await);
        assert!(v.authenticate(&carrying("good")).await);
    }
}
