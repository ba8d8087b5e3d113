//! Reconciliation wired to AWS and RingCentral, as the CLI's `reconcile`
//! and the guardian run it: the inventory table with scan-sized limits, the
//! usual topics (or one consumer's target), RingCentral's list paced for the
//! Heavy group; corrections under the table's reconciliation lease.

use crate::change::AccountId;
use crate::config::Reconciliation;
use crate::inventory::dynamodb::lease_holder;
use crate::inventory::dynamodb::{DynamoInventory, SCAN_TIMEOUTS};
use crate::reconcile::{with_lease, Mode, Progress, ReconcileError, Reconciler, Report};
use crate::registry::Tenant;
use crate::ringcentral::{Client, PhoneNumbers};
use crate::sink::aws::AwsSink;
use crate::sink::recording::RecordingSink;
use crate::sink::target::{Target, TargetSink};
use aws_config::SdkConfig;
use std::collections::BTreeSet;
use std::time::Duration;

pub struct Options {
    pub mode: Mode,
    pub dry_run: bool,
    /// With a snapshot: only this consumer's topic or queue.
    pub to: Option<Target>,
    pub page_interval: Duration,
    /// Who runs it, as the reconciliation lease names its holder.
    pub who: &'static str,
    /// Whose numbers: the default account's (the stack's own credentials,
    /// as before there were many accounts) or one registered account's
    /// (`client` must then be built with that account's JWT).
    pub tenant: Tenant,
    /// Every registered account (the registry's list): their items are not
    /// the default account's, so its run leaves them out. A registered
    /// account's run reads only its own items and does not need it.
    pub registered: BTreeSet<AccountId>,
}

/// A reconciliation holds its lease this long at most; one that crashed
/// frees it by then. The guardian's Lambda timeout (300 s) ends a run by then.
pub const RECONCILE_LEASE: Duration = Duration::from_secs(300);

pub async fn run(
    sdk: &SdkConfig,
    config: &Reconciliation,
    client: &Client,
    options: Options,
    progress: impl FnMut(Progress<'_>),
) -> Result<Report, ReconcileError> {
    let api = PhoneNumbers {
        client,
        page_interval: options.page_interval,
    };
    let inventory = DynamoInventory::new(sdk, config.inventory_table.clone(), SCAN_TIMEOUTS)
        .for_tenant(options.tenant)
        .excluding(options.registered);
    let now = time::OffsetDateTime::now_utc();
    let (mode, dry_run) = (options.mode, options.dry_run);
    // One reconciler per kind of sink: the Sink port is generic, not a trait object.
    macro_rules! over {
        ($sink:expr) => {
            Reconciler {
                api: &api,
                inventory: &inventory,
                sink: &$sink,
                mode,
                dry_run,
            }
            .run(now, progress)
            .await
        };
    }
    match (options.to, dry_run) {
        (_, true) => over!(RecordingSink::default()),
        (Some(target), false) => over!(TargetSink::new(sdk, target)),
        (None, false) if mode == Mode::Correct => {
            let lease = inventory.reconcile_lease(lease_holder(options.who));
            with_lease(&lease, now, RECONCILE_LEASE, async {
                over!(AwsSink::topics_only(sdk, config.topics.clone()))
            })
            .await
        }
        (None, false) => over!(AwsSink::topics_only(sdk, config.topics.clone())),
    }
}
