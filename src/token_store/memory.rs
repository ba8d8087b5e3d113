//! Tokens in memory, counting reads and keeping every write: the core's tests.

use super::{TokenStore, TokenStoreError};
use crate::token::TokenSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Debug)]
pub struct MemoryTokens {
    tokens: Mutex<TokenSet>,
    pub reads: AtomicUsize,
    pub writes: Mutex<Vec<TokenSet>>,
    /// Set: every read and write fails, as an unreachable Secrets Manager.
    pub failing: AtomicBool,
}

impl MemoryTokens {
    pub fn new(tokens: TokenSet) -> Self {
        Self {
            tokens: Mutex::new(tokens),
            reads: AtomicUsize::new(0),
            writes: Mutex::new(Vec::new()),
            failing: AtomicBool::new(false),
        }
    }

    /// What an operator's `put-secret-value` would do.
    pub fn replace(&self, tokens: TokenSet) {
        *self.tokens.lock().unwrap_or_else(|e| e.into_inner()) = tokens;
    }

    pub fn current(&self) -> TokenSet {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    fn unreachable(&self) -> Option<TokenStoreError> {
        self.failing.load(Ordering::SeqCst).then(|| TokenStoreError::Read {
            secret: "memory".into(),
            detail: "unreachable".into(),
        })
    }
}

impl TokenStore for MemoryTokens {
    async fn read(&self) -> Result<TokenSet, TokenStoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        match self.unreachable() {
            Some(error) => Err(error),
            None => Ok(self.current()),
        }
    }

    async fn write(&self, tokens: &TokenSet) -> Result<(), TokenStoreError> {
        if let Some(error) = self.unreachable() {
            return Err(error);
        }
        self.replace(tokens.clone());
        self.writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tokens.clone());
        Ok(())
    }
}
