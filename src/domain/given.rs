//! Given/when/then for deciders: `given(events).when(command).then(events)` or `.then_err(error)`.

use chrono::{TimeZone, Utc};
use tally_events::{Actor, Event, Role};

use super::{Aggregate, Context};

/// A fixed context: 2026-06-01 12:00 UTC, acting as the given role.
pub fn context_as(role: Role) -> Context {
    Context {
        now: Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap(),
        actor: Actor { principal: "test-client".into(), role },
    }
}

pub struct Given<A: Aggregate> {
    state: A::State,
    context: Context,
}

pub fn given<A: Aggregate>(events: &[Event]) -> Given<A> {
    let state = events.iter().fold(A::State::default(), A::evolve);
    Given { state, context: context_as(Role::Administrator) }
}

impl<A: Aggregate> Given<A> {
    pub fn acting_as(mut self, role: Role) -> Self {
        self.context.actor.role = role;
        self
    }

    pub fn at(mut self, now: chrono::DateTime<Utc>) -> Self {
        self.context.now = now;
        self
    }

    pub fn when(self, command: A::Command) -> Result<Vec<Event>, A::Error> {
        A::decide(&self.state, command, &self.context)
    }
}

pub trait Then<E> {
    fn then(self, expected: &[Event]);
    fn then_err(self, expected: E);
}

impl<E: PartialEq + std::fmt::Debug> Then<E> for Result<Vec<Event>, E> {
    #[track_caller]
    fn then(self, expected: &[Event]) {
        assert_eq!(self, Ok(expected.to_vec()));
    }

    #[track_caller]
    fn then_err(self, expected: E) {
        assert_eq!(self, Err(expected));
    }
}
