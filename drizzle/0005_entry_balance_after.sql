ALTER TABLE "entries" ADD COLUMN "balance_after" bigint;--> statement-breakpoint
-- Backfill, exactly: an account's entries are posted one at a time under its row lock, so id
-- order is posting order, and every balance is the sum of its entries (the ledger's
-- invariant); the running sum in id order is each entry's balance right after it.
UPDATE "entries" AS e SET "balance_after" = r."running"
FROM (
  SELECT "id", sum("amount") OVER (PARTITION BY "account_id" ORDER BY "id") AS "running"
  FROM "entries"
) AS r
WHERE e."id" = r."id";--> statement-breakpoint
ALTER TABLE "entries" ALTER COLUMN "balance_after" SET NOT NULL;
