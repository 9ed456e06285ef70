//! Notification templates and notifications. A template records a change only when its text changes. A
//! notification is asked for once (a second request on its stream records nothing), and finishes once: delivered
//! or failed, whichever comes first; later outcomes (a subscriber handing a page again) record nothing.

use std::convert::Infallible;

use tally_events::{
    AttachmentRef, Event, NotificationDelivered, NotificationFailed, NotificationRequested,
    NotificationTemplateDeclared, Sealed,
};

use super::{Aggregate, Context};

pub struct TemplateAggregate;

/// A template's text: subject and body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Template {
    pub subject: String,
    pub body: String,
}

impl Aggregate for TemplateAggregate {
    type State = Option<Template>;
    type Command = Template;
    type Error = Infallible;

    fn decide(state: &Option<Template>, text: Template, _: &Context) -> Result<Vec<Event>, Infallible> {
        if state.as_ref() == Some(&text) {
            return Ok(vec![]);
        }
        Ok(vec![Event::NotificationTemplateDeclared(NotificationTemplateDeclared {
            subject: text.subject,
            body: text.body,
        })])
    }

    fn evolve(state: Option<Template>, event: &Event) -> Option<Template> {
        match event {
            Event::NotificationTemplateDeclared(e) => {
                Some(Template { subject: e.subject.clone(), body: e.body.clone() })
            }
            _ => state,
        }
    }
}

pub struct NotificationAggregate;

/// Where a notification is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Progress {
    #[default]
    None,
    Requested,
    Finished,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NotificationCommand {
    Request { template_key: String, recipient: Sealed, attachment: Option<AttachmentRef> },
    Delivered { attempts: u32 },
    Failed { attempts: u32, reason: String },
}

impl Aggregate for NotificationAggregate {
    type State = Progress;
    type Command = NotificationCommand;
    type Error = Infallible;

    fn decide(state: &Progress, command: NotificationCommand, _: &Context) -> Result<Vec<Event>, Infallible> {
        Ok(match (state, command) {
            (Progress::None, NotificationCommand::Request { template_key, recipient, attachment }) => {
                vec![Event::NotificationRequested(NotificationRequested { template_key, recipient, attachment })]
            }
            (Progress::Requested, NotificationCommand::Delivered { attempts }) => {
                vec![Event::NotificationDelivered(NotificationDelivered { attempts })]
            }
            (Progress::Requested, NotificationCommand::Failed { attempts, reason }) => {
                vec![Event::NotificationFailed(NotificationFailed { attempts, reason })]
            }
            _ => vec![],
        })
    }

    fn evolve(state: Progress, event: &Event) -> Progress {
        match event {
            Event::NotificationRequested(_) => Progress::Requested,
            Event::NotificationDelivered(_) | Event::NotificationFailed(_) => Progress::Finished,
            _ => state,
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::domain::given::{given, Then};

    fn request() -> NotificationCommand {
        let recipient = Sealed { subject: Uuid::from_u128(3), sealed: "x".into() };
        NotificationCommand::Request { template_key: "welcome".into(), recipient, attachment: None }
    }

    #[test]
    fn a_notification_is_asked_for_once_and_finishes_once() {
        let requested = given::<NotificationAggregate>(&[]).when(request()).unwrap();
        assert_eq!(requested.len(), 1);
        given::<NotificationAggregate>(&requested).when(request()).then(&[]);
        let delivered = vec![Event::NotificationDelivered(NotificationDelivered { attempts: 1 })];
        given::<NotificationAggregate>(&requested)
            .when(NotificationCommand::Delivered { attempts: 1 })
            .then(&delivered);
        let finished = [requested, delivered].concat();
        let fail = NotificationCommand::Failed { attempts: 2, reason: "550".into() };
        given::<NotificationAggregate>(&finished).when(fail.clone()).then(&[]);
        given::<NotificationAggregate>(&[]).when(fail).then(&[]);
    }

    #[test]
    fn a_template_records_only_changes() {
        let text = Template { subject: "Hi".into(), body: "Hello {{firstName}}".into() };
        let declared = given::<TemplateAggregate>(&[]).when(text.clone()).unwrap();
        assert_eq!(declared.len(), 1);
        given::<TemplateAggregate>(&declared).when(text).then(&[]);
        let changed = Template { subject: "Hi".into(), body: "Hello again".into() };
        assert_eq!(given::<TemplateAggregate>(&declared).when(changed).unwrap().len(), 1);
    }
}
