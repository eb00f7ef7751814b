-- The command as the user asked for it (canonical: declared order, flag names, their units), shown in
-- progress, history and audit. NULL for executions created before this column existed.
ALTER TABLE executions ADD COLUMN command text;
