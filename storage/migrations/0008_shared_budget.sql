-- Several instances share one bot's flood budget through PostgreSQL
-- (storage/migrations_pg/0008_shared_budget.sql). A SQLite file serves one instance, whose
-- pacers keep the budget in memory: nothing to store here. Kept so both backends count alike.
SELECT 1;
