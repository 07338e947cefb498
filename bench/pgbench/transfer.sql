-- The transfer's minimal SQL against the real schema, one transaction per transfer (pgbench
-- -M prepared; bench/main.ts passes lo/hi, the seeded accounts' id range): the transfer row,
-- its two entries, then the two balance updates in ascending account id order.
\set from random(:lo, :hi)
\set to random(:lo, :hi - 1)
\set to case when :to >= :from then :to + 1 else :to end
\set first least(:from, :to)
\set second greatest(:from, :to)
\set first_delta case when :first = :from then -1 else 1 end
BEGIN;
INSERT INTO transfers (from_account_id, to_account_id, amount) VALUES (:from, :to, 1) RETURNING id \gset
INSERT INTO entries (account_id, amount, transfer_id) VALUES (:from, -1, :id), (:to, 1, :id);
UPDATE accounts SET balance = balance + :first_delta WHERE id = :first;
UPDATE accounts SET balance = balance - :first_delta WHERE id = :second;
COMMIT;
