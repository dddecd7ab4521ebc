//! Health models: stored, versioned weights per segment, one active each.

use super::*;

// ------------------------------------------------------------------------------------------
// Health models

pub use store::StoredModel;

pub async fn list_models(app: &App) -> CoreResult<Vec<StoredModel>> {
    let mut c = app.db.conn().await?;
    Ok(store::models(c.c()).await?)
}

pub async fn get_model(app: &App, id: Id) -> CoreResult<StoredModel> {
    let mut c = app.db.conn().await?;
    store::model(c.c(), id)
        .await?
        .ok_or(CoreError::NotFound("health model"))
}

/// Validates and stores a model, as `proposed` or (replacing the segment's current one)
/// `active`.
pub async fn save_model(
    app: &App,
    model: &HealthModel,
    activate: bool,
    notes: Option<&str>,
    by: Option<Id>,
) -> CoreResult<StoredModel> {
    if let Err(problems) = model.validate() {
        let mut e = cscx_domain::FieldErrors::new();
        for (field, msg) in problems {
            e.add(&field, msg);
        }
        return Err(CoreError::Validation(e));
    }
    let now = app.now();
    let stored = StoredModel {
        id: Id::new(),
        name: model.name.clone(),
        segment_key: model.segment.clone().unwrap_or_default(),
        config: serde_json::to_value(model).expect("models serialise"),
        status: "proposed".into(),
        notes: notes.map(str::to_owned),
        created_by: by,
        created_at: now,
        updated_at: now,
    };
    let mut tx = app.db.begin().await?;
    store::insert_model(tx.c(), &stored).await?;
    tx.commit().await?;
    if activate {
        return activate_model(app, stored.id).await;
    }
    Ok(stored)
}

/// Makes a model the active one for its segment (the previous one is archived) and queues a
/// recompute of every customer.
pub async fn activate_model(app: &App, id: Id) -> CoreResult<StoredModel> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let model = store::model(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("health model"))?;
    store::activate_model(tx.c(), id, &model.segment_key, now).await?;
    enqueue_in(
        tx.c(),
        &NewJob::new(NIGHTLY_JOB, json!({})).key("nightly:model-change"),
        now,
    )
    .await?;
    tx.commit().await?;
    get_model(app, id).await
}

/// The model that scores a customer of `segment`: the segment's active model, else the
/// default active model, else the built-in default.
pub async fn model_for(app: &App, segment: Option<&str>) -> CoreResult<HealthModel> {
    let mut c = app.db.conn().await?;
    let rows = store::active_model_configs(c.c(), segment.unwrap_or("")).await?;
    let pick = rows
        .iter()
        .find(|(k, _)| !k.is_empty() && Some(k.as_str()) == segment)
        .or_else(|| rows.iter().find(|(k, _)| k.is_empty()));
    match pick {
        Some((_, config)) => serde_json::from_value(config.clone())
            .map_err(|e| CoreError::Internal(format!("stored health model is invalid: {e}"))),
        None => Ok(HealthModel::default_model()),
    }
}
