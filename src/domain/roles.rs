//! Who may block and unblock cards for which reason: our reading of the CashDesk seed's garbled role/reason rules,
//! kept as one table and tested row by row.

use tally_events::{BlockReason, Role, UnblockReason};

/// Block reasons in code order 0..=4.
pub const BLOCK_REASONS: [BlockReason; 5] = [
    BlockReason::Loss,
    BlockReason::UnwantedCustomersList,
    BlockReason::Blacklist,
    BlockReason::RefusalToUse,
    BlockReason::Replacement,
];

/// Unblock reasons in code order 0..=3.
pub const UNBLOCK_REASONS: [UnblockReason; 4] = [
    UnblockReason::CardFound,
    UnblockReason::LeftUnwantedList,
    UnblockReason::LeftBlacklist,
    UnblockReason::RestoredAfterRefusal,
];

/// The table: for each role, the block reason codes and the unblock reason codes it may use.
const TABLE: [(Role, &[u8], &[u8]); 7] = [
    (Role::Client, &[0], &[0]),
    (Role::CcOperator, &[0, 3, 4], &[0, 3]),
    (Role::Marketer, &[0, 3, 4], &[0, 3]),
    (Role::SeniorEmployee, &[0, 1, 4], &[0, 1]),
    (Role::Director, &[0, 1, 2, 4], &[0, 1, 2]),
    (Role::Administrator, &[0, 1, 2, 3, 4], &[0, 1, 2, 3]),
    (Role::System, &[0, 1, 2, 3, 4], &[0, 1, 2, 3]),
];

/// The seed's numeric code of a block reason.
pub fn block_code(reason: BlockReason) -> u8 {
    BLOCK_REASONS.iter().position(|r| *r == reason).expect("every reason is listed") as u8
}

/// The seed's numeric code of an unblock reason.
pub fn unblock_code(reason: UnblockReason) -> u8 {
    UNBLOCK_REASONS.iter().position(|r| *r == reason).expect("every reason is listed") as u8
}

fn row(role: Role) -> (&'static [u8], &'static [u8]) {
    let (_, block, unblock) = TABLE.iter().find(|(r, _, _)| *r == role).expect("every role has a row");
    (block, unblock)
}

/// May `role` block a card for `reason`?
pub fn may_block(role: Role, reason: BlockReason) -> bool {
    row(role).0.contains(&block_code(reason))
}

/// May `role` unblock a card for `reason`?
pub fn may_unblock(role: Role, reason: UnblockReason) -> bool {
    row(role).1.contains(&unblock_code(reason))
}

/// The block an unblock reason undoes; a replacement block is undone by none.
pub fn undoes(reason: UnblockReason) -> BlockReason {
    match reason {
        UnblockReason::CardFound => BlockReason::Loss,
        UnblockReason::LeftUnwantedList => BlockReason::UnwantedCustomersList,
        UnblockReason::LeftBlacklist => BlockReason::Blacklist,
        UnblockReason::RestoredAfterRefusal => BlockReason::RefusalToUse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row by row, the reading of the seed, spelled out independently of `TABLE`.
    #[test]
    fn block_permissions_row_by_row() {
        let expected: [(Role, [bool; 5]); 6] = [
            (Role::Client, [true, false, false, false, false]),
            (Role::CcOperator, [true, false, false, true, true]),
            (Role::Marketer, [true, false, false, true, true]),
            (Role::SeniorEmployee, [true, true, false, false, true]),
            (Role::Director, [true, true, true, false, true]),
            (Role::Administrator, [true; 5]),
        ];
        for (role, allowed) in expected {
            for (reason, want) in BLOCK_REASONS.into_iter().zip(allowed) {
                assert_eq!(may_block(role, reason), want, "{role:?} blocking for {reason:?}");
            }
        }
    }

    #[test]
    fn unblock_permissions_row_by_row() {
        let expected: [(Role, [bool; 4]); 6] = [
            (Role::Client, [true, false, false, false]),
            (Role::CcOperator, [true, false, false, true]),
            (Role::Marketer, [true, false, false, true]),
            (Role::SeniorEmployee, [true, true, false, false]),
            (Role::Director, [true, true, true, false]),
            (Role::Administrator, [true; 4]),
        ];
        for (role, allowed) in expected {
            for (reason, want) in UNBLOCK_REASONS.into_iter().zip(allowed) {
                assert_eq!(may_unblock(role, reason), want, "{role:?} unblocking for {reason:?}");
            }
        }
    }

    #[test]
    fn each_unblock_reason_undoes_its_block_and_nothing_undoes_replacement() {
        let undone: Vec<BlockReason> = UNBLOCK_REASONS.into_iter().map(undoes).collect();
        assert_eq!(undone, BLOCK_REASONS[..4].to_vec());
        assert!(!undone.contains(&BlockReason::Replacement));
    }
}
