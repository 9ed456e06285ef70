//! Operators' CLI verbs over a merchant's staff, leads and loyalty codes: `tally staff create`, `tally leads
//! pipeline` and `tally loyalty issue`.

use anyhow::{bail, Context};
use chrono::NaiveDate;
use tally_events::{Event, Role};
use tally_projections::pipeline::{Dimension, Filter};

use crate::{
    app::{self, App},
    commands::{Command, Outcome},
    jobs::system,
    leads::{self, PipelineReport},
    loyalty,
    queries::ReadCache,
    store::{
        merchants,
        staff::{self, SignIn, StaffError},
        Db,
    },
};

#[derive(clap::Subcommand)]
pub enum StaffAction {
    /// Add a staff member who signs in to the merchant's applications (Footprints' `/api/token` with grant_type
    /// password or pin); prints the staff id.
    Create {
        #[arg(long)]
        merchant: String,
        /// The name the token endpoint answers with (`hostess_name`).
        #[arg(long)]
        name: String,
        /// cc_operator, marketer, senior_employee, director or administrator.
        #[arg(long, default_value = "marketer")]
        role: String,
        #[arg(long)]
        username: Option<String>,
        /// The password (or TALLY_STAFF_PASSWORD); with --username.
        #[arg(long, env = "TALLY_STAFF_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// A PIN of 4 to 12 digits, unique within the merchant (or TALLY_STAFF_PIN).
        #[arg(long, env = "TALLY_STAFF_PIN", hide_env_values = true)]
        pin: Option<String>,
    },
}

#[derive(clap::Subcommand)]
pub enum LeadAction {
    /// Print the lead pipeline: per status, how many leads, their average age and the actions due; over the
    /// period, what was added, converted and lost.
    Pipeline {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        location: Option<String>,
        #[arg(long)]
        consultant: Option<String>,
        #[arg(long)]
        channel: Option<String>,
        #[arg(long)]
        offer: Option<String>,
        /// Split by location, consultant, channel or offer.
        #[arg(long)]
        group_by: Option<String>,
        /// The period's first day (Y-m-d, merchant's time zone); 30 days before --to by default.
        #[arg(long)]
        from: Option<NaiveDate>,
        /// The period's last day, included; today by default.
        #[arg(long)]
        to: Option<NaiveDate>,
        /// Print the report as JSON (as `GET /v1/leads/pipeline` answers).
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Subcommand)]
pub enum LoyaltyAction {
    /// Issue codes to a loyalty campaign (declared through `PUT /v1/loyalty-campaigns/{id}`): the codes of a file,
    /// one per line, or so many generated; up to 100,000 in one call, all or none. Prints how many were issued.
    Issue {
        #[arg(long)]
        merchant: String,
        /// The campaign's internal id.
        #[arg(long)]
        campaign: String,
        /// The prize type's id.
        #[arg(long)]
        prize: String,
        /// A file of codes, one per line (blank lines are skipped).
        #[arg(long, conflicts_with = "count", required_unless_present = "count")]
        file: Option<std::path::PathBuf>,
        /// How many codes to generate, of the campaign's characters and length.
        #[arg(long)]
        count: Option<usize>,
    },
}

pub async fn loyalty(url: &str, action: LoyaltyAction) -> anyhow::Result<()> {
    let LoyaltyAction::Issue { merchant, campaign, prize, file, count } = action;
    let issue = match (file, count) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            loyalty::Issue::Codes(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
        }
        (None, Some(count)) => loyalty::Issue::Generated(count),
        (None, None) => bail!("give --file or --count"),
    };
    let target = loyalty::issue(&campaign, prize, issue).map_err(|problem| anyhow::anyhow!("{problem}"))?;
    let app = App::start(&app::Settings { database_url: url.to_owned(), kafka: None, ..Default::default() }).await?;
    if merchants::get(&app.db.read, &merchant).await?.is_none() {
        bail!("no merchant {merchant}");
    }
    let command = Command::new(&merchant, system("cli"), target);
    match app.executor.execute(command).await? {
        Outcome::Executed { result: Ok(envelopes), .. } => {
            let issued: usize = envelopes
                .iter()
                .map(|envelope| match envelope.event() {
                    Ok(Event::LoyaltyCodesIssued(e)) => e.codes.len(),
                    _ => 0,
                })
                .sum();
            println!("{issued} codes issued to campaign {campaign}");
            Ok(())
        }
        Outcome::Executed { result: Err(refusal), .. } => {
            bail!("refused: {} ({refusal:?}); nothing was issued", refusal.code())
        }
        // A command without an idempotency key is always decided.
        Outcome::Replayed(_) | Outcome::KeyReused => bail!("not issued"),
    }
}

pub async fn staff(url: &str, action: StaffAction) -> anyhow::Result<()> {
    let StaffAction::Create { merchant, name, role, username, password, pin } = action;
    let role = Role::parse(&role).filter(|r| !matches!(r, Role::System | Role::Client)).with_context(|| {
        format!("unknown staff role {role:?}: cc_operator, marketer, senior_employee, director, administrator")
    })?;
    if name.trim().is_empty() {
        bail!("--name must not be blank");
    }
    if username.is_some() != password.is_some() {
        bail!("--username and --password go together");
    }
    if let Some(pin) = &pin {
        if !(4..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
            bail!("--pin must be 4 to 12 digits");
        }
    }
    if username.is_none() && pin.is_none() {
        bail!("give --username and --password, or --pin, or both");
    }
    let db = Db::connect(url).await?;
    if merchants::get(&db.read, &merchant).await?.is_none() {
        bail!("no merchant {merchant}: create it with `tally merchants create`");
    }
    let sign_in = SignIn { username: username.as_deref(), password: password.as_deref(), pin: pin.as_deref() };
    match staff::create(&db.write, &merchant, name.trim(), role, sign_in).await {
        Ok(member) => {
            println!("staff_id: {}", member.staff_id);
            Ok(())
        }
        Err(StaffError::UsernameTaken) => bail!("another staff member of {merchant} has this username"),
        Err(StaffError::PinTaken) => bail!("another staff member of {merchant} has this PIN"),
        Err(StaffError::Store(error)) => Err(error.into()),
    }
}

pub async fn leads(url: &str, action: LeadAction) -> anyhow::Result<()> {
    let LeadAction::Pipeline { merchant, location, consultant, channel, offer, group_by, from, to, json } = action;
    let mut filter = Filter::default();
    let narrowed = [
        (Dimension::Location, location),
        (Dimension::Consultant, consultant),
        (Dimension::Channel, channel),
        (Dimension::Offer, offer),
    ];
    filter.equal = narrowed.into_iter().filter_map(|(dimension, value)| Some((dimension, value?))).collect();
    let split = group_by
        .map(|name| {
            Dimension::parse(&name)
                .with_context(|| format!("--group-by {name:?}: location, consultant, channel or offer"))
        })
        .transpose()?;
    // A report reads; it starts no writer and no subscriber.
    let db = Db::connect(url).await?;
    let report = leads::pipeline_report(&db, &ReadCache::default(), &merchant, &filter, split, (from, to)).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

/// The report as a text table.
fn table(report: &PipelineReport) -> String {
    let mut out = format!("pipeline of {} as of {}\n", report.tenant, report.as_of.format("%Y-%m-%d %H:%M UTC"));
    out.push_str(&format!(
        "{:<24} {:<12} {:>8} {:>14} {:>12}\n",
        report.group_by.unwrap_or("group"),
        "status",
        "leads",
        "avg age (d)",
        "actions due"
    ));
    for stage in &report.stages {
        out.push_str(&format!(
            "{:<24} {:<12} {:>8} {:>14.1} {:>12}\n",
            stage.group.as_deref().unwrap_or("-"),
            stage.status.as_str(),
            stage.leads,
            stage.average_age_seconds as f64 / 86_400.0,
            stage.actions_due
        ));
    }
    let period = &report.period;
    out.push_str(&format!(
        "{} to {}: {} added, {} of them customers now (conversion {}), {} converted, lost: {}\n",
        report.from,
        report.to,
        period.added,
        period.added_now_customers,
        period.conversion_rate,
        period.converted,
        if period.lost.is_empty() {
            "none".to_owned()
        } else {
            period.lost.iter().map(|(reason, count)| format!("{reason} {count}")).collect::<Vec<_>>().join(", ")
        }
    ));
    out
}
