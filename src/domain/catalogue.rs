//! The merchant's catalogue: reference data, one stream per item. A declaration records only a change; an item keeps
//! its kind; a retired item may be declared again.

use tally_events::{CatalogueItem, CatalogueItemDeclared, CatalogueItemRetired, Event};

use super::{Aggregate, Context};

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub item: CatalogueItem,
    pub retired: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CatalogueCommand {
    Declare(Box<CatalogueItem>),
    Retire,
}

pub struct CatalogueAggregate;

/// Why a catalogue command is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogueError {
    NotFound,
    /// The id names an item of another kind.
    KindChanged {
        kind: &'static str,
    },
}

impl CatalogueError {
    pub fn code(&self) -> &'static str {
        match self {
            CatalogueError::NotFound => "CatalogueItemNotFound",
            CatalogueError::KindChanged { .. } => "CatalogueKindChanged",
        }
    }
}

impl Aggregate for CatalogueAggregate {
    type State = Option<Entry>;
    type Command = CatalogueCommand;
    type Error = CatalogueError;

    fn decide(state: &Option<Entry>, command: CatalogueCommand, _: &Context) -> Result<Vec<Event>, CatalogueError> {
        match (state, command) {
            (Some(entry), CatalogueCommand::Declare(item)) if entry.item.kind() != item.kind() => {
                Err(CatalogueError::KindChanged { kind: entry.item.kind() })
            }
            (Some(entry), CatalogueCommand::Declare(item)) if !entry.retired && entry.item == *item => Ok(vec![]),
            (_, CatalogueCommand::Declare(item)) => {
                Ok(vec![Event::CatalogueItemDeclared(CatalogueItemDeclared { item: *item })])
            }
            (None, CatalogueCommand::Retire) => Err(CatalogueError::NotFound),
            (Some(entry), CatalogueCommand::Retire) if entry.retired => Ok(vec![]),
            (Some(_), CatalogueCommand::Retire) => Ok(vec![Event::CatalogueItemRetired(CatalogueItemRetired {})]),
        }
    }

    fn evolve(state: Option<Entry>, event: &Event) -> Option<Entry> {
        match (state, event) {
            (_, Event::CatalogueItemDeclared(e)) => Some(Entry { item: e.item.clone(), retired: false }),
            (Some(entry), Event::CatalogueItemRetired(_)) => Some(Entry { retired: true, ..entry }),
            (state, _) => state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::given::{given, Then};

    fn channel(name: &str) -> CatalogueItem {
        CatalogueItem::Channel { name: name.into(), media_type: "Owned Media".into() }
    }

    fn declared(item: CatalogueItem) -> Event {
        Event::CatalogueItemDeclared(CatalogueItemDeclared { item })
    }

    #[test]
    fn an_item_records_changes_only_keeps_its_kind_and_comes_back_after_retiring() {
        let history = vec![declared(channel("Web"))];
        given::<CatalogueAggregate>(&history).when(CatalogueCommand::Declare(Box::new(channel("Web")))).then(&[]);
        given::<CatalogueAggregate>(&history)
            .when(CatalogueCommand::Declare(Box::new(channel("Shop"))))
            .then(&[declared(channel("Shop"))]);
        given::<CatalogueAggregate>(&history)
            .when(CatalogueCommand::Declare(Box::new(CatalogueItem::OfferCategory { name: "Web".into() })))
            .then_err(CatalogueError::KindChanged { kind: "channel" });
        let retired = Event::CatalogueItemRetired(CatalogueItemRetired {});
        given::<CatalogueAggregate>(&history).when(CatalogueCommand::Retire).then(std::slice::from_ref(&retired));
        let gone = [history.clone(), vec![retired]].concat();
        given::<CatalogueAggregate>(&gone).when(CatalogueCommand::Retire).then(&[]);
        given::<CatalogueAggregate>(&gone).when(CatalogueCommand::Declare(Box::new(channel("Web")))).then(&history);
        given::<CatalogueAggregate>(&[]).when(CatalogueCommand::Retire).then_err(CatalogueError::NotFound);
    }
}
