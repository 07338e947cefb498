-- The transfer's minimal SQL against the real schema, one transaction per transfer (pgbench
-- -M prepared; bench/main.ts passes lo/hi, the seeded accounts' id range): the two balance
-- updates in ascending account id order (each returning the balance after it), the transfer
-- row, then its two entries with their balance_after.
\set from random(:lo, :hi)
\set to random(:lo, :hi - 1)
\set to case when :to >= :from then :to + 1 else :to end
\set first least(:from, :to)
\set second greatest(:from, :to)
\set first_delta case when :first = :from then -1 else 1 end
\set second_delta -1 * :first_delta
BEGIN;
UPDATE accounts SET balance = balance + :first_delta WHERE id = :first RETURNING balance AS first_balance \gset
UPDATE accounts SET balance = balance + :second_delta WHERE id = :second RETURNING balance AS second_balance \gset
INSERT INTO transfers (from_account_id, to_account_id, amount) VALUES (:from, :to, 1) RETURNING id \gset
INSERT INTO entries (account_id, amount, transfer_id, balance_after) VALUES (:first, :first_delta, :id, :first_balance), (:second, :second_delta, :id, :second_balance);
COMMIT;
