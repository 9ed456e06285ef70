//! What a command is decided on: one or more streams, each with the command for its aggregate. The writer sees
//! aggregates only through the object-safe [`StreamCommand`] and [`StreamState`], so it names none of them; an
//! aggregate becomes writable by implementing [`Stream`] (see `aggregates.rs`).

use std::{any::Any, fmt::Debug};

use tally_events::Event;

use crate::domain::{Aggregate, Context, Refusal};

/// An aggregate the writer can decide on: how its streams are named, and which refusals a view's unique
/// constraint stands for.
pub trait Stream: Aggregate + Sized {
    /// What names one stream of the aggregate within a tenant (a card number, a contact id, …).
    type Key: Clone + Debug + Send + Sync + 'static;

    /// The stream id of `key` in `tenant`.
    fn stream_id(tenant: &str, key: &Self::Key) -> String;

    /// The refusal a violated view constraint stands for: a race between commands that the handler's look-ups
    /// could not see. `None` for constraints the aggregate does not know.
    fn refusal_for(constraint: &str) -> Option<Self::Error> {
        let _ = constraint;
        None
    }

    /// A command for the stream of `key`.
    fn target(key: Self::Key, command: Self::Command) -> Target {
        Target { streams: vec![Box::new(For::<Self> { key, command })] }
    }
}

/// A stream's state as the writer caches it, whatever its aggregate.
pub trait StreamState: Send + Sync {
    /// The state after one more event.
    fn evolve(self: Box<Self>, event: &Event) -> Box<dyn StreamState>;
    fn as_any(&self) -> &dyn Any;
}

/// The state of an `A` stream.
struct Held<A: Aggregate>(A::State);

impl<A: Aggregate> StreamState for Held<A> {
    fn evolve(self: Box<Self>, event: &Event) -> Box<dyn StreamState> {
        Box::new(Held::<A>(A::evolve(self.0, event)))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One stream's command, whatever its aggregate.
pub trait StreamCommand: Debug + Send + Sync {
    fn stream_id(&self, tenant: &str) -> String;
    /// Whether `state` is a state of this command's aggregate.
    fn owns(&self, state: &dyn StreamState) -> bool;
    /// The state of a stream with no events.
    fn empty(&self) -> Box<dyn StreamState>;
    fn decide(&self, state: &dyn StreamState, context: &Context) -> Result<Vec<Event>, Refusal>;
    fn refusal_for(&self, constraint: &str) -> Option<Refusal>;
}

/// The command `command` for the `A` stream named by `key`.
struct For<A: Stream> {
    key: A::Key,
    command: A::Command,
}

impl<A: Stream> Debug for For<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("For").field("key", &self.key).field("command", &self.command).finish()
    }
}

impl<A: Stream> StreamCommand for For<A> {
    fn stream_id(&self, tenant: &str) -> String {
        A::stream_id(tenant, &self.key)
    }

    fn owns(&self, state: &dyn StreamState) -> bool {
        state.as_any().is::<Held<A>>()
    }

    fn empty(&self) -> Box<dyn StreamState> {
        Box::new(Held::<A>(A::State::default()))
    }

    fn decide(&self, state: &dyn StreamState, context: &Context) -> Result<Vec<Event>, Refusal> {
        let state = &state.as_any().downcast_ref::<Held<A>>().expect("the writer loads states of the aggregate").0;
        A::decide(state, self.command.clone(), context).map_err(Into::into)
    }

    fn refusal_for(&self, constraint: &str) -> Option<Refusal> {
        A::refusal_for(constraint).map(Into::into)
    }
}

/// A command's streams: decided together, all or none (the first refusal refuses the whole command).
#[derive(Debug)]
pub struct Target {
    streams: Vec<Box<dyn StreamCommand>>,
}

impl Target {
    /// Several targets as one command, all or none (e.g. a batch of card registrations).
    pub fn all(targets: impl IntoIterator<Item = Target>) -> Target {
        Target { streams: targets.into_iter().flat_map(|target| target.streams).collect() }
    }

    /// Every stream the command decides on, with its command.
    pub fn streams(&self) -> &[Box<dyn StreamCommand>] {
        &self.streams
    }

    /// Every stream id the command decides on.
    pub fn stream_ids(&self, tenant: &str) -> Vec<String> {
        self.streams.iter().map(|stream| stream.stream_id(tenant)).collect()
    }

    /// The refusal a violated view constraint stands for, if one of the command's aggregates knows it.
    pub fn refusal_for(&self, constraint: &str) -> Option<Refusal> {
        self.streams.iter().find_map(|stream| stream.refusal_for(constraint))
    }
}
