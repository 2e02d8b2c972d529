
-- erasure: a customer erased from the orders (and customers) table is
-- erased from every copy the extension keeps of it, and the erasure is
-- recorded without recording whom

CREATE TABLE @extschema@.segment_erasures (
	-- no foreign key: the record outlives the attachment
	attachment_name text NOT NULL,
	erased_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	customers integer NOT NULL CONSTRAINT segment_erasures_customers_positive CHECK (customers OPERATOR(pg_catalog.>) 0)
);
SELECT pg_catalog.pg_extension_config_dump(c.oid::pg_catalog.regclass, '') FROM pg_catalog.pg_class c
WHERE c.relname OPERATOR(pg_catalog.=) 'segment_erasures' AND c.relnamespace OPERATOR(pg_catalog.=)
	(SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segment');
COMMENT ON TABLE @extschema@.segment_erasures IS
	'that customers were erased from an attachment''s copies (forget_customers()), when and how many; never whom';
COMMENT ON COLUMN @extschema@.segment_erasures.attachment_name IS 'the attachment';
COMMENT ON COLUMN @extschema@.segment_erasures.erased_at IS 'when (the erasing transaction''s start)';
COMMENT ON COLUMN @extschema@.segment_erasures.customers IS 'how many customers were erased';
ALTER TABLE @extschema@.segment_erasures ENABLE ROW LEVEL SECURITY;
CREATE POLICY segment_erasures_read ON @extschema@.segment_erasures FOR SELECT
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_erasures.attachment_name));
CREATE POLICY segment_erasures_write ON @extschema@.segment_erasures FOR INSERT
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.attachments a
						WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_erasures.attachment_name
						  AND segment_internal.owns_relation(a.orders_table)));
COMMENT ON POLICY segment_erasures_read ON @extschema@.segment_erasures IS 'erasures are visible with their attachment';
COMMENT ON POLICY segment_erasures_write ON @extschema@.segment_erasures IS
	'a role records erasures only of attachments of orders tables it owns';
GRANT SELECT ON @extschema@.segment_erasures TO PUBLIC;

-- "x = ANY (keys)" with the key type's own equality (its default btree
-- operator, named by its schema: a citext key must compare as citext
-- whatever the search_path) under the orders column's collation.
CREATE FUNCTION segment_internal.key_match_sql(a @extschema@.attachments, column_sql text, keys_sql text)
	RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	key_type regtype := column_type(a.orders_table, a.customer_column);
	equality text;
	collate_sql text;
BEGIN
	SELECT format('%I.%s', n.nspname, o.oprname) INTO equality
	FROM pg_opclass c
		 JOIN pg_amop m ON m.amopfamily = c.opcfamily AND m.amoplefttype = c.opcintype
						   AND m.amoprighttype = c.opcintype AND m.amopstrategy = 3
		 JOIN pg_operator o ON o.oid = m.amopopr JOIN pg_namespace n ON n.oid = o.oprnamespace
	WHERE c.opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree') AND c.opcdefault
	  AND c.opcintype = key_type;
	IF equality IS NULL THEN
		RAISE EXCEPTION 'the customer key type % has no default equality', key_type
			USING ERRCODE = 'undefined_function';
	END IF;
	SELECT format(' COLLATE %I.%I', n.nspname, c.collname) INTO collate_sql
	FROM pg_attribute att JOIN pg_collation c ON c.oid = att.attcollation
		 JOIN pg_namespace n ON n.oid = c.collnamespace
	WHERE att.attrelid = a.orders_table AND att.attname = a.customer_column;
	RETURN format('%s%s OPERATOR(%s) ANY (%s::%s[])', column_sql, coalesce(collate_sql, ''), equality, keys_sql, key_type);
END
$function$;
COMMENT ON FUNCTION segment_internal.key_match_sql(@extschema@.attachments, text, text) IS
	'the SQL of "column = ANY (keys)" with the customer key type''s own equality under the orders column''s collation';

-- The customers' copies go: their maintained state, stored tags and every
-- interval of their history (snapshots included).  Their orders and
-- customers rows must be gone, and that deletion committed, first: the
-- maintained state follows a deletion of orders at commit, and would
-- otherwise write the customer's history again after this.  Writers of the
-- orders, customers and state tables wait until the erasure commits, so
-- that what is checked is what is erased.
CREATE FUNCTION @extschema@.forget_customers(attachment_name text, customer_keys text[]) RETURNS integer
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	left_over bigint;
	erased text[] := '{}';
	removed text[];
	customers integer;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = forget_customers.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', forget_customers.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF NOT coalesce(owns_relation(a.orders_table), false) THEN
		RAISE EXCEPTION 'permission denied to erase customers of attachment "%"', a.attachment_name
			USING ERRCODE = 'insufficient_privilege', HINT = 'Only the owner of its orders table may.';
	END IF;
	IF customer_keys IS NULL OR array_position(customer_keys, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'customer keys must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF cardinality(customer_keys) = 0 THEN
		RETURN 0;
	END IF;
	-- in the order writers take them: the orders, the customers, the state
	EXECUTE format('LOCK TABLE %s IN SHARE MODE', a.orders_table);
	IF a.customers_table IS NOT NULL THEN
		EXECUTE format('LOCK TABLE %s IN SHARE MODE', a.customers_table);
	END IF;
	IF a.state_table IS NOT NULL THEN
		PERFORM lock_state_tables(a.attachment_name);
	END IF;

	EXECUTE format('SELECT count(*) FROM %s o WHERE %s', a.orders_table,
				   key_match_sql(a, format('o.%I', a.customer_column), '$1'))
		INTO left_over USING customer_keys;
	IF left_over > 0 THEN
		RAISE EXCEPTION 'the customers still have % orders in %', left_over, a.orders_table
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Delete their orders (and customers rows) and commit, then forget them.';
	END IF;
	IF a.customers_table IS NOT NULL THEN
		EXECUTE format('SELECT count(*) FROM %s c WHERE %s', a.customers_table,
					   key_match_sql(a, format('c.%I', a.customer_key), '$1'))
			INTO left_over USING customer_keys;
		IF left_over > 0 THEN
			RAISE EXCEPTION 'the customers are still in %', a.customers_table
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  HINT = 'Delete their rows and orders and commit, then forget them.';
		END IF;
	END IF;
	-- a state row without orders is a deletion not yet folded in
	IF a.state_table IS NOT NULL AND relation_exists(a.state_table) THEN
		EXECUTE format('SELECT count(*) FROM %s s WHERE %s', a.state_table, key_match_sql(a, 's.customer_id', '$1'))
			INTO left_over USING customer_keys;
		IF left_over > 0 THEN
			RAISE EXCEPTION 'the deletion of the customers'' orders is not committed yet'
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  HINT = 'The maintained state follows it at commit: commit it, then forget them.';
		END IF;
	END IF;
	-- stored tags close their history intervals as they go; then the history
	IF a.tags_table IS NOT NULL AND relation_exists(a.tags_table) THEN
		EXECUTE format('WITH d AS (DELETE FROM %s g WHERE %s RETURNING g.customer_id::text) SELECT array_agg(d.customer_id) FROM d',
					   a.tags_table, key_match_sql(a, 'g.customer_id', '$1'))
			INTO removed USING customer_keys;
		erased := erased || coalesce(removed, '{}');
	END IF;
	IF a.history_table IS NOT NULL AND relation_exists(a.history_table) THEN
		EXECUTE format('WITH d AS (DELETE FROM %s h WHERE %s RETURNING h.customer_id::text) SELECT array_agg(d.customer_id) FROM d',
					   a.history_table, key_match_sql(a, 'h.customer_id', '$1'))
			INTO removed USING customer_keys;
		erased := erased || coalesce(removed, '{}');
	END IF;
	-- the customers found and erased, as the key type tells them apart
	EXECUTE format('SELECT count(DISTINCT k) FROM unnest($1::%s[]) k WHERE %s', column_type(a.orders_table, a.customer_column),
				   key_match_sql(a, 'k', '$2'))
		INTO customers USING customer_keys, erased;
	IF customers > 0 THEN
		INSERT INTO segment_erasures (attachment_name, customers) VALUES (a.attachment_name, customers);
	END IF;
	RETURN customers;
END
$function$;
COMMENT ON FUNCTION @extschema@.forget_customers(text, text[]) IS
	'erases customers whose orders and customers rows are deleted and committed from every table the extension keeps for the attachment (state, tags, history with its snapshots), comparing keys as their type and the orders column''s collation do, and records that an erasure happened, not whom; returns how many of the keys were found';

CREATE FUNCTION @extschema@.forget_customer(attachment_name text, customer_key text) RETURNS integer
	LANGUAGE sql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT forget_customers(attachment_name, ARRAY[customer_key]) $$;
COMMENT ON FUNCTION @extschema@.forget_customer(text, text) IS
	'forget_customers() for one customer';
