//! Which tokens authenticate a notification, kept fresh without polling.
//!
//! The tokens are read once at cold start. A notification whose token
//! matches none of them may be the first one of a rotation this instance
//! has not seen: the store is re-read before the 401, but at most once per
//! [`REREAD_INTERVAL`], so a flood of bad tokens costs one read a minute,
//! not one per request. The cold start's read is not a re-read: the first
//! unknown token after it may re-read at once.

use super::auth;
use crate::token::{TokenMatch, TokenSet, VerificationToken};
use crate::token_store::{Fixed, TokenStore, TokenStoreError};
use lambda_http::http::HeaderMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const REREAD_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Verifier<T> {
    store: T,
    reread_interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: Arc<TokenSet>,
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
    /// token needs.
    pub async fn authenticate(&self, headers: &HeaderMap) -> bool {
        let known = auth::authenticated(&self.tokens(), headers);
        let worth_a_reread = match known {
            TokenMatch::Current => false,
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
                    "re-read the verification tokens after an unknown or previous one"
                );
                self.lock().tokens = tokens.clone();
                auth::authenticated(&tokens, headers) != TokenMatch::None
            }
            Err(error) => {
                // The tokens read before still stand, for this request too.
                tracing::warn!("re-reading the verification tokens failed, kept the ones read before: {error}");
                known != TokenMatch::None
            }
        }
    }

    pub fn tokens(&self) -> Arc<TokenSet> {
        self.lock().tokens.clone()
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
