//! Health models: stored, versioned weights per segment, one active each.

use super::*;

// ------------------------------------------------------------------------------------------
// Health models

/// A stored health model.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StoredModel {
    pub id: Id,
    pub name: String,
    /// `""` = the default for every segment.
    pub segment_key: String,
    #[schema(value_type = Object)]
    pub config: Value,
    /// `active`, `proposed` or `archived`.
    pub status: String,
    pub notes: Option<String>,
    pub created_by: Option<Id>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub async fn list_models(app: &App) -> CoreResult<Vec<StoredModel>> {
    let mut c = app.db.conn().await?;
    Ok(run!(c.c(), |conn| sqlx::query_as::<_, StoredModel>(
        "SELECT * FROM health_models ORDER BY id"
    )
    .fetch_all(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?)
}

pub async fn get_model(app: &App, id: Id) -> CoreResult<StoredModel> {
    let mut c = app.db.conn().await?;
    run!(c.c(), |conn| sqlx::query_as::<_, StoredModel>(
        "SELECT * FROM health_models WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?
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
    run!(tx.c(), |conn| sqlx::query(
        "INSERT INTO health_models (id, name, segment_key, config, status, notes, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(stored.id)
    .bind(&stored.name)
    .bind(&stored.segment_key)
    .bind(&stored.config)
    .bind(&stored.status)
    .bind(&stored.notes)
    .bind(stored.created_by)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await.map(|_| ()))
    .map_err(cscx_store::Error::from)?;
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
    let model: StoredModel = run!(tx.c(), |conn| sqlx::query_as::<_, StoredModel>(
        "SELECT * FROM health_models WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?
    .ok_or(CoreError::NotFound("health model"))?;
    run!(tx.c(), |conn| sqlx::query(
        "UPDATE health_models SET status = 'archived', updated_at = $2 WHERE segment_key = $1 AND status = 'active' AND id <> $3"
    )
    .bind(&model.segment_key)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await.map(|_| ()))
    .map_err(cscx_store::Error::from)?;
    run!(tx.c(), |conn| sqlx::query(
        "UPDATE health_models SET status = 'active', updated_at = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|_| ()))
    .map_err(cscx_store::Error::from)?;
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
    let rows: Vec<(String, Value)> = run!(c.c(), |conn| sqlx::query_as(
        "SELECT segment_key, config FROM health_models WHERE status = 'active' AND (segment_key = $1 OR segment_key = '')"
    )
    .bind(segment.unwrap_or(""))
    .fetch_all(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?;
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
