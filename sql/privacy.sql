
-- privacy: what the views of an attachment show of a customer.  The views
-- read only the customers columns chosen (customer_columns); the reports
-- hide numbers of fewer customers than the attachment's minimum group
-- size; published views, which run with their owner's rights, show a
-- pseudonym (a keyed hash) in place of the key to roles that may not read
-- the tables (sql/views.sql builds them all).

-- A count as a report shows it: NULL when it counts some customers but
-- fewer than the minimum (none: shown).
CREATE FUNCTION segment_internal.shown_count(customers bigint, minimum integer) RETURNS bigint
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT CASE WHEN customers OPERATOR(pg_catalog.>) 0 AND customers OPERATOR(pg_catalog.<) minimum
					  THEN NULL ELSE customers END $$;
COMMENT ON FUNCTION segment_internal.shown_count(bigint, integer) IS
	'a count as a report shows it: NULL when it counts some customers but fewer than the minimum';

-- Which groups of a partition of the customers a report hides, given the
-- customers of each: those of fewer than the minimum (but not none), and,
-- when these add up to fewer than the minimum, the smallest group of the
-- others too, so that no hidden number follows from the total less the
-- shown ones for fewer than the minimum customers.
CREATE FUNCTION segment_internal.hidden_groups(customers bigint[], minimum integer) RETURNS boolean[]
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, segment_internal, pg_temp
	AS $$
	WITH cell AS (
		SELECT coalesce(u.c, 0) AS c, u.n, shown_count(coalesce(u.c, 0), minimum) IS NULL AS small
		FROM pg_catalog.unnest(customers) WITH ORDINALITY AS u(c, n)
	), spare AS (
		SELECT cell.n FROM cell
		WHERE NOT cell.small AND cell.c OPERATOR(pg_catalog.>) 0
		  AND (SELECT pg_catalog.sum(s.c) FROM cell s WHERE s.small) OPERATOR(pg_catalog.<) minimum
		ORDER BY cell.c, cell.n LIMIT 1
	)
	SELECT coalesce(pg_catalog.array_agg(cell.small OR cell.n IN (SELECT spare.n FROM spare) ORDER BY cell.n), '{}')
	FROM cell $$;
COMMENT ON FUNCTION segment_internal.hidden_groups(bigint[], integer) IS
	'which groups of a partition of the customers a report hides: those of fewer than the minimum, and the smallest other one while the hidden add up to fewer';

-- Checks the customers columns an attachment's views are to show (all
-- when NULL).
CREATE FUNCTION segment_internal.check_customer_columns(customers regclass, customer_key name, columns name[])
	RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	missing name;
	clash name;
BEGIN
	IF columns IS NOT NULL AND customers IS NULL THEN
		RAISE EXCEPTION 'customer_columns need a customers table' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF array_position(columns, NULL) IS NOT NULL OR cardinality(columns) <> (SELECT count(DISTINCT c) FROM unnest(columns) c) THEN
		RAISE EXCEPTION 'customer_columns must name each column once, without NULLs' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT c INTO missing FROM unnest(columns) c WHERE column_type(customers, c) IS NULL LIMIT 1;
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'column "%" does not exist in %', missing, customers USING ERRCODE = 'undefined_column';
	END IF;
	-- every column, shown or not: rules name them all
	clash := customers_column_clash(customers, customer_key);
	IF clash IS NOT NULL THEN
		RAISE EXCEPTION '% has a column "%", which the customers view computes', customers, clash
			USING ERRCODE = 'duplicate_column',
				  HINT = 'Attach a view of the customers table that renames or leaves out that column.';
	END IF;
END
$function$;
COMMENT ON FUNCTION segment_internal.check_customer_columns(regclass, name, name[]) IS
	'raises an error unless the views can show the columns (all when NULL) of a customers table';

CREATE FUNCTION @extschema@.set_customer_columns(attachment_name text, customer_columns name[]) RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = set_customer_columns.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', set_customer_columns.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	PERFORM check_customer_columns(a.customers_table, a.customer_key, set_customer_columns.customer_columns);
	UPDATE attachments t SET customer_columns = set_customer_columns.customer_columns
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	RETURN QUERY SELECT * FROM rebuild_attachment_views(a.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.set_customer_columns(text, name[]) IS
	'chooses the columns of the customers table the views of an attachment show besides the key (NULL: all) and rebuilds them';

CREATE FUNCTION @extschema@.set_minimum_group_size(attachment_name text, minimum_group_size integer DEFAULT 5)
	RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = set_minimum_group_size.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', set_minimum_group_size.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF set_minimum_group_size.minimum_group_size IS NULL AND a.pseudonym_secret_table IS NOT NULL THEN
		RAISE EXCEPTION 'the views of attachment "%" are published', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'Published reports keep a minimum group size.',
				  HINT = 'Withdraw them first: publish_views(attachment_name, false).';
	END IF;
	IF set_minimum_group_size.minimum_group_size < 2 THEN
		RAISE EXCEPTION 'minimum group size must be at least 2, not %', set_minimum_group_size.minimum_group_size
			USING ERRCODE = 'invalid_parameter_value', HINT = 'NULL turns the minimum off.';
	END IF;
	UPDATE attachments t SET minimum_group_size = set_minimum_group_size.minimum_group_size
	WHERE t.attachment_name = a.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	RETURN QUERY SELECT * FROM build_attachment_views(a.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.set_minimum_group_size(text, integer) IS
	'sets the fewest customers a number of the summary views of an attachment may count (NULL: no minimum) and rebuilds them';

-- The schema of pgcrypto, quoted; NULL if it is not installed.
CREATE FUNCTION segment_internal.pgcrypto_schema() RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT pg_catalog.quote_ident(n.nspname)
		  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
		  WHERE e.extname OPERATOR(pg_catalog.=) 'pgcrypto' $$;
COMMENT ON FUNCTION segment_internal.pgcrypto_schema() IS 'the schema of the extension pgcrypto, quoted; NULL if it is not installed';

-- Why the published views of an attachment cannot be built, in a sentence;
-- NULL if they can: the secret must exist and be its owner's alone, for
-- whoever reads it can tell every customer's pseudonym.
CREATE FUNCTION segment_internal.pseudonym_secret_obstacle(a @extschema@.attachments) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT CASE
		WHEN NOT relation_exists(a.pseudonym_secret_table)
			THEN 'Its pseudonym secret table is gone; publish_views() makes a new secret, and new pseudonyms.'
		WHEN EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) g
					 WHERE c.oid = a.pseudonym_secret_table AND g.grantee <> c.relowner)
			THEN format('%s is granted to roles other than its owner; revoke that, for whoever reads it can tell every customer''s pseudonym.',
						a.pseudonym_secret_table)
		END $$;
COMMENT ON FUNCTION segment_internal.pseudonym_secret_obstacle(@extschema@.attachments) IS
	'why the published views of an attachment cannot be built (its secret gone, or granted to others); NULL if they can';

-- Publishes the views of an attachment for roles that may not read its
-- tables: <a>_published_customers and the published reports, which run
-- with their owner's rights.  The secret of the pseudonyms is made once,
-- in a table of the owner's that no one else is granted, and kept while
-- published, so that a customer's pseudonym stays the same.
CREATE FUNCTION @extschema@.publish_views(attachment_name text, published boolean DEFAULT true) RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	secret text;
	grantee oid;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = publish_views.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', publish_views.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF NOT coalesce(owns_relation(a.orders_table), false) THEN
		RAISE EXCEPTION 'permission denied to publish the views of attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	IF published IS NULL THEN
		RAISE EXCEPTION 'published must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- two calls for one attachment wait for each other: one secret
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = a.attachment_name FOR UPDATE;
	IF NOT published THEN
		IF a.pseudonym_secret_table IS NULL THEN
			RETURN QUERY SELECT unnest(a.views);
			RETURN;
		END IF;
		UPDATE attachments t SET pseudonym_secret_table = NULL WHERE t.attachment_name = a.attachment_name;
		RETURN QUERY SELECT * FROM build_attachment_views(a.attachment_name);
		IF relation_exists(a.pseudonym_secret_table) THEN
			EXECUTE format('DROP TABLE %s', a.pseudonym_secret_table);
		END IF;
		RETURN;
	END IF;
	IF a.minimum_group_size IS NULL THEN
		RAISE EXCEPTION 'attachment "%" has no minimum group size', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'The published reports are for roles that may not see customers one by one.',
				  HINT = 'Set one first: set_minimum_group_size(attachment_name).';
	END IF;
	IF a.customers_table IS NOT NULL AND a.customer_columns IS NULL THEN
		RAISE EXCEPTION 'attachment "%" shows every column of %', a.attachment_name, a.customers_table
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'The published customers view shows the columns the attachment shows.',
				  HINT = 'Choose them first: set_customer_columns(attachment_name, columns).';
	END IF;
	IF pgcrypto_schema() IS NULL THEN
		RAISE EXCEPTION 'the published views of attachment "%" need the extension pgcrypto', a.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'CREATE EXTENSION pgcrypto;';
	END IF;
	IF a.pseudonym_secret_table IS NULL OR NOT relation_exists(a.pseudonym_secret_table) THEN
		secret := format('%I.%I', a.view_schema, a.attachment_name || '_pseudonym_secret');
		EXECUTE format('CREATE TABLE %s (secret bytea NOT NULL, one boolean PRIMARY KEY DEFAULT true CHECK (one))', secret);
		-- the schema's default privileges may have granted it to others
		FOR grantee IN SELECT DISTINCT g.grantee FROM pg_class c, aclexplode(c.relacl) g
					   WHERE c.oid = secret::regclass AND g.grantee <> c.relowner LOOP
			EXECUTE format('REVOKE ALL ON %s FROM %s', secret,
						   CASE WHEN grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(grantee)) END);
		END LOOP;
		EXECUTE format('INSERT INTO %s (secret) VALUES (%s.gen_random_bytes(32))', secret, pgcrypto_schema());
		PERFORM comment_relation(secret,
			format('the secret key of the pseudonyms of the published views of segment attachment %s: whoever reads it can tell every customer''s pseudonym', a.attachment_name),
			'secret', '32 random bytes, the HMAC key',
			'one', 'true: the table holds one row');
		UPDATE attachments t SET pseudonym_secret_table = secret::regclass WHERE t.attachment_name = a.attachment_name;
	END IF;
	RETURN QUERY SELECT * FROM build_attachment_views(a.attachment_name);
END
$function$;
COMMENT ON FUNCTION @extschema@.publish_views(text, boolean) IS
	'publishes (or with false withdraws) the views of an attachment for roles that may not read its tables: pseudonymous customers and the reports, with the owner''s rights';

-- The keys whose pseudonym is the one given: a customer of the orders or,
-- with a customers table, of that table.  Only a role that may read the
-- secret (its owner) may.
CREATE FUNCTION @extschema@.customer_for_pseudonym(attachment_name text, pseudonym text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	key text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = customer_for_pseudonym.attachment_name;
	IF NOT FOUND OR a.pseudonym_secret_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" has no published views', customer_for_pseudonym.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'publish_views() makes them.';
	END IF;
	EXECUTE format($find$
		WITH secret AS (SELECT s.secret FROM %1$s s)
		SELECT k.key FROM (SELECT o.%3$I::text AS key FROM %2$s o%4$s) k, secret
		WHERE pg_catalog.encode(%5$s.hmac(pg_catalog.convert_to(k.key, 'UTF8'), secret.secret, 'sha256'::text), 'hex') = $1
		LIMIT 1$find$,
		a.pseudonym_secret_table, a.orders_table, a.customer_column,
		CASE WHEN a.customers_table IS NULL THEN ''
			 ELSE format(' UNION SELECT c.%I::text FROM %s c', a.customer_key, a.customers_table) END,
		pgcrypto_schema())
		INTO key USING lower(customer_for_pseudonym.pseudonym);
	RETURN key;
END
$function$;
COMMENT ON FUNCTION @extschema@.customer_for_pseudonym(text, text) IS
	'the key of the customer an attachment''s published views show under a pseudonym; NULL if none; only for roles that may read the secret';
