//! Contacts' personal data is sealed with the contact's own key before it is recorded: the contact id is the data
//! subject, so erasing the customer with that id shreds it (see [`crate::vault`]).

use tally_events::{ContactDetails, Sealed};
use uuid::Uuid;

use crate::{
    app::App,
    domain::contact::ContactCommand,
    store::Db,
    vault::{Vault, VaultError},
};

/// Seals a contact's details with the contact's key.
pub async fn seal(
    vault: &Vault,
    db: &Db,
    tenant: &str,
    contact_id: Uuid,
    details: &ContactDetails,
) -> Result<Sealed, VaultError> {
    let value = serde_json::to_value(details).expect("contact details serialize");
    vault.seal(db, tenant, contact_id, &value).await
}

/// The command that registers a contact with these details, sealed.
pub async fn register(
    app: &App,
    tenant: &str,
    contact_id: Uuid,
    code: String,
    details: &ContactDetails,
) -> Result<ContactCommand, VaultError> {
    Ok(ContactCommand::Register {
        contact_id,
        code,
        details: seal(&app.vault, &app.db, tenant, contact_id, details).await?,
    })
}

/// The command that updates a contact, whose details are `current`, with `changes`: only what really changes is
/// sealed and recorded.
pub async fn update(
    app: &App,
    tenant: &str,
    contact_id: Uuid,
    current: &ContactDetails,
    changes: &ContactDetails,
) -> Result<ContactCommand, VaultError> {
    let changed = changes.changed_from(current);
    let changes = match changed == ContactDetails::default() {
        true => None,
        false => Some(seal(&app.vault, &app.db, tenant, contact_id, &changed).await?),
    };
    Ok(ContactCommand::Update { changes })
}
