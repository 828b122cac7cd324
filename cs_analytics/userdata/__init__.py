"""User data: what people enter (notes, weekly reviews, alert actions, health assessments,
KPI commentary, the Salesforce outbox), kept in the store's side database, never in a snapshot."""
