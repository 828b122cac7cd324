"""User data: what people enter (notes, weekly reviews, alert actions, health assessments, KPI
commentary), kept in the store's side database, never in a snapshot."""
