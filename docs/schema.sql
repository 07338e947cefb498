--
-- The schema of a freshly migrated simplebank database: the migrations in drizzle/, applied
-- by runMigrations (src/bun/migrate.ts) to an empty database. Written by `bun run db:docs`
-- (tools/db-docs) from that database's catalog, the same text on every machine: do not edit.
--
-- Schemas: public (the bank) and drizzle (the migrator's record of the migrations applied).
-- Left out on purpose: pgboss, the job queue's, which pg-boss creates and upgrades itself.
-- Data is left out too (the treasury rows of migration 0001 among it). Loads as it is into an
-- empty database.
--

--
-- Name: drizzle; Type: SCHEMA; Schema: -
--

CREATE SCHEMA drizzle;

--
-- Name: __drizzle_migrations_id_seq; Type: SEQUENCE; Schema: drizzle
--

CREATE SEQUENCE drizzle.__drizzle_migrations_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: accounts_id_seq; Type: SEQUENCE; Schema: public
--

CREATE SEQUENCE public.accounts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: entries_id_seq; Type: SEQUENCE; Schema: public
--

CREATE SEQUENCE public.entries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: transfers_id_seq; Type: SEQUENCE; Schema: public
--

CREATE SEQUENCE public.transfers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: verify_emails_id_seq; Type: SEQUENCE; Schema: public
--

CREATE SEQUENCE public.verify_emails_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: __drizzle_migrations; Type: TABLE; Schema: drizzle
--

CREATE TABLE drizzle.__drizzle_migrations (
    id integer DEFAULT nextval('drizzle.__drizzle_migrations_id_seq'::regclass) NOT NULL,
    hash text NOT NULL,
    created_at bigint,
    CONSTRAINT __drizzle_migrations_pkey PRIMARY KEY (id)
);

--
-- Name: accounts; Type: TABLE; Schema: public
--

CREATE TABLE public.accounts (
    id bigint DEFAULT nextval('public.accounts_id_seq'::regclass) NOT NULL,
    owner character varying(100) NOT NULL,
    kind character varying(20) DEFAULT 'customer'::character varying NOT NULL,
    balance bigint DEFAULT 0 NOT NULL,
    currency character varying(3) NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT accounts_pkey PRIMARY KEY (id),
    CONSTRAINT owner_currency_key UNIQUE (owner, currency),
    CONSTRAINT accounts_balance_bounded CHECK (((balance >= '-9007199254740991'::bigint) AND (balance <= '9007199254740991'::bigint))),
    CONSTRAINT accounts_currency_check CHECK (((currency)::text = ANY ((ARRAY['USD'::character varying, 'EUR'::character varying, 'CAD'::character varying])::text[]))),
    CONSTRAINT accounts_customer_balance_nonnegative CHECK ((((kind)::text = 'treasury'::text) OR (balance >= 0))),
    CONSTRAINT accounts_kind_check CHECK (((kind)::text = ANY ((ARRAY['customer'::character varying, 'treasury'::character varying])::text[]))),
    CONSTRAINT accounts_treasury_owner CHECK ((((kind)::text = 'treasury'::text) = ((owner)::text = 'bank'::text)))
);

--
-- Name: entries; Type: TABLE; Schema: public
--

CREATE TABLE public.entries (
    id bigint DEFAULT nextval('public.entries_id_seq'::regclass) NOT NULL,
    account_id bigint NOT NULL,
    amount bigint NOT NULL,
    transfer_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    balance_after bigint NOT NULL,
    CONSTRAINT entries_pkey PRIMARY KEY (id),
    CONSTRAINT entries_amount_nonzero CHECK ((amount <> 0))
);

--
-- Name: idempotency_keys; Type: TABLE; Schema: public
--

CREATE TABLE public.idempotency_keys (
    owner character varying(100) NOT NULL,
    key character varying(255) NOT NULL,
    request_fingerprint character varying(64) NOT NULL,
    response jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT idempotency_keys_owner_key PRIMARY KEY (owner, key)
);

--
-- Name: password_resets; Type: TABLE; Schema: public
--

CREATE TABLE public.password_resets (
    id uuid NOT NULL,
    username character varying(100) NOT NULL,
    email character varying(200) NOT NULL,
    secret_code_hash character varying(64),
    is_used boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expired_at timestamp with time zone,
    CONSTRAINT password_resets_pkey PRIMARY KEY (id)
);

--
-- Name: sessions; Type: TABLE; Schema: public
--

CREATE TABLE public.sessions (
    id uuid NOT NULL,
    username character varying(100) NOT NULL,
    refresh_token_hash character varying(64) NOT NULL,
    user_agent character varying NOT NULL,
    client_ip character varying NOT NULL,
    is_blocked boolean DEFAULT false NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    previous_refresh_token_hash character varying(64),
    rotated_at timestamp with time zone,
    CONSTRAINT sessions_pkey PRIMARY KEY (id)
);

--
-- Name: transfers; Type: TABLE; Schema: public
--

CREATE TABLE public.transfers (
    id bigint DEFAULT nextval('public.transfers_id_seq'::regclass) NOT NULL,
    from_account_id bigint NOT NULL,
    to_account_id bigint NOT NULL,
    amount bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    memo character varying(140),
    CONSTRAINT transfers_pkey PRIMARY KEY (id),
    CONSTRAINT transfers_amount_positive CHECK (((amount > 0) AND (amount <= '1000000000000'::bigint))),
    CONSTRAINT transfers_distinct_accounts CHECK ((from_account_id <> to_account_id)),
    CONSTRAINT transfers_memo_not_empty CHECK ((char_length((memo)::text) >= 1))
);

--
-- Name: users; Type: TABLE; Schema: public
--

CREATE TABLE public.users (
    username character varying(100) NOT NULL,
    hashed_password character varying NOT NULL,
    full_name character varying(100) NOT NULL,
    email character varying(200) NOT NULL,
    role character varying(20) DEFAULT 'depositor'::character varying NOT NULL,
    is_email_verified boolean DEFAULT false NOT NULL,
    password_changed_at timestamp with time zone DEFAULT '0001-01-01 00:00:00+00'::timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (username),
    CONSTRAINT users_role_check CHECK (((role)::text = ANY ((ARRAY['depositor'::character varying, 'banker'::character varying])::text[])))
);

--
-- Name: verify_emails; Type: TABLE; Schema: public
--

CREATE TABLE public.verify_emails (
    id bigint DEFAULT nextval('public.verify_emails_id_seq'::regclass) NOT NULL,
    username character varying(100) NOT NULL,
    email character varying(200) NOT NULL,
    secret_code character varying NOT NULL,
    is_used boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expired_at timestamp with time zone DEFAULT (now() + '00:15:00'::interval) NOT NULL,
    job_id uuid,
    CONSTRAINT verify_emails_pkey PRIMARY KEY (id),
    CONSTRAINT verify_emails_job_id_key UNIQUE (job_id)
);

--
-- Name: __drizzle_migrations_id_seq; Type: SEQUENCE OWNED BY; Schema: drizzle
--

ALTER SEQUENCE drizzle.__drizzle_migrations_id_seq OWNED BY drizzle.__drizzle_migrations.id;

--
-- Name: accounts_id_seq; Type: SEQUENCE OWNED BY; Schema: public
--

ALTER SEQUENCE public.accounts_id_seq OWNED BY public.accounts.id;

--
-- Name: entries_id_seq; Type: SEQUENCE OWNED BY; Schema: public
--

ALTER SEQUENCE public.entries_id_seq OWNED BY public.entries.id;

--
-- Name: transfers_id_seq; Type: SEQUENCE OWNED BY; Schema: public
--

ALTER SEQUENCE public.transfers_id_seq OWNED BY public.transfers.id;

--
-- Name: verify_emails_id_seq; Type: SEQUENCE OWNED BY; Schema: public
--

ALTER SEQUENCE public.verify_emails_id_seq OWNED BY public.verify_emails.id;

--
-- Name: accounts_one_treasury_per_currency; Type: INDEX; Schema: public
--

CREATE UNIQUE INDEX accounts_one_treasury_per_currency ON public.accounts USING btree (currency) WHERE ((kind)::text = 'treasury'::text);

--
-- Name: entries_account_id_idx; Type: INDEX; Schema: public
--

CREATE INDEX entries_account_id_idx ON public.entries USING btree (account_id, id);

--
-- Name: entries_transfer_id_idx; Type: INDEX; Schema: public
--

CREATE INDEX entries_transfer_id_idx ON public.entries USING btree (transfer_id);

--
-- Name: idempotency_keys_created_at_idx; Type: INDEX; Schema: public
--

CREATE INDEX idempotency_keys_created_at_idx ON public.idempotency_keys USING btree (created_at);

--
-- Name: password_resets_username_idx; Type: INDEX; Schema: public
--

CREATE INDEX password_resets_username_idx ON public.password_resets USING btree (username);

--
-- Name: sessions_username_idx; Type: INDEX; Schema: public
--

CREATE INDEX sessions_username_idx ON public.sessions USING btree (username);

--
-- Name: transfers_from_account_id_idx; Type: INDEX; Schema: public
--

CREATE INDEX transfers_from_account_id_idx ON public.transfers USING btree (from_account_id, id);

--
-- Name: transfers_to_account_id_idx; Type: INDEX; Schema: public
--

CREATE INDEX transfers_to_account_id_idx ON public.transfers USING btree (to_account_id, id);

--
-- Name: users_email_key; Type: INDEX; Schema: public
--

CREATE UNIQUE INDEX users_email_key ON public.users USING btree (lower((email)::text));

--
-- Name: verify_emails_username_idx; Type: INDEX; Schema: public
--

CREATE INDEX verify_emails_username_idx ON public.verify_emails USING btree (username);

--
-- Name: accounts accounts_owner_users_username_fk; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.accounts
    ADD CONSTRAINT accounts_owner_users_username_fk FOREIGN KEY (owner) REFERENCES public.users(username);

--
-- Name: entries entries_account_id_accounts_id_fk; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.entries
    ADD CONSTRAINT entries_account_id_accounts_id_fk FOREIGN KEY (account_id) REFERENCES public.accounts(id);

--
-- Name: entries entries_transfer_id_transfers_id_fk; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.entries
    ADD CONSTRAINT entries_transfer_id_transfers_id_fk FOREIGN KEY (transfer_id) REFERENCES public.transfers(id);

--
-- Name: idempotency_keys idempotency_keys_owner_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_owner_fkey FOREIGN KEY (owner) REFERENCES public.users(username);

--
-- Name: password_resets password_resets_username_users_username_fk; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.password_resets
    ADD CONSTRAINT password_resets_username_users_username_fk FOREIGN KEY (username) REFERENCES public.users(username);

--
-- Name: sessions sessions_username_users_username_fk; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_username_users_username_fk FOREIGN KEY (username) REFERENCES public.users(username);

--
-- Name: transfers transfers_from_account_id_accounts_id_fk; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.transfers
    ADD CONSTRAINT transfers_from_account_id_accounts_id_fk FOREIGN KEY (from_account_id) REFERENCES public.accounts(id);

--
-- Name: transfers transfers_to_account_id_accounts_id_fk; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.transfers
    ADD CONSTRAINT transfers_to_account_id_accounts_id_fk FOREIGN KEY (to_account_id) REFERENCES public.accounts(id);

--
-- Name: verify_emails verify_emails_username_users_username_fk; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.verify_emails
    ADD CONSTRAINT verify_emails_username_users_username_fk FOREIGN KEY (username) REFERENCES public.users(username);
