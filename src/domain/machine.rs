//! A vending machine's feed: what the platform reports about a machine (dispenses, refills, alerts, button presses),
//! whether or not a sale went through Tally. The facts need no decision; the stream keeps them in order.

use std::convert::Infallible;

use tally_events::Event;

use super::{Aggregate, Context};

/// One report of the machine's feed.
#[derive(Debug, Clone, PartialEq)]
pub enum MachineReport {
    Dispensed(tally_events::MachineDispensed),
    Refilled(tally_events::MachineRefilled),
    Alerted(tally_events::MachineAlerted),
    ButtonPressed(tally_events::MachineButtonPressed),
}

pub struct MachineAggregate;

impl Aggregate for MachineAggregate {
    type State = ();
    type Command = MachineReport;
    type Error = Infallible;

    fn decide(_: &(), report: MachineReport, _: &Context) -> Result<Vec<Event>, Infallible> {
        Ok(vec![match report {
            MachineReport::Dispensed(e) => Event::MachineDispensed(e),
            MachineReport::Refilled(e) => Event::MachineRefilled(e),
            MachineReport::Alerted(e) => Event::MachineAlerted(e),
            MachineReport::ButtonPressed(e) => Event::MachineButtonPressed(e),
        }])
    }

    fn evolve(state: (), _: &Event) {
        state
    }
}
