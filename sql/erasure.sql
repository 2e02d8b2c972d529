
-- erasure: a customer erased from the orders (and customers) table is
-- erased from every copy the extension keeps of it, and the erasure is
-- recorded without recording whom

CREATE TABLE @extschema@.segment_erasures (
	attachment_name text NOT NULL REFERENCES @extschema@.attachments ON UPDATE CASCADE ON DELETE CASCADE,
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

-- The customers' copies go: their maintained state, stored tags and every
-- interval of their history (snapshots included).  Their orders and
-- customers rows must be gone, and that deletion committed, first: the
-- maintained state follows a deletion of orders at commit, and would
-- otherwise write the customer's history again after this.
CREATE FUNCTION @extschema@.forget_customers(attachment_name text, customer_keys text[]) RETURNS integer
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	key_type regtype;
	keys_sql text;
	left_over bigint;
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
	customers := (SELECT count(DISTINCT k) FROM unnest(customer_keys) k);
	IF customers = 0 THEN
		RETURN 0;
	END IF;
	key_type := column_type(a.orders_table, a.customer_column);
	-- the keys as the orders table's type: a malformed key is an error here
	keys_sql := format('$1::%s[]', key_type);
	EXECUTE format('SELECT count(*) FROM %s o WHERE o.%I = ANY (%s)', a.orders_table, a.customer_column, keys_sql)
		INTO left_over USING customer_keys;
	IF left_over > 0 THEN
		RAISE EXCEPTION 'the customers still have % orders in %', left_over, a.orders_table
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Delete their orders (and customers rows) and commit, then forget them.';
	END IF;
	IF a.customers_table IS NOT NULL THEN
		EXECUTE format('SELECT count(*) FROM %s c WHERE c.%I = ANY (%s)', a.customers_table, a.customer_key, keys_sql)
			INTO left_over USING customer_keys;
		IF left_over > 0 THEN
			RAISE EXCEPTION 'the customers are still in %', a.customers_table
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  HINT = 'Delete their rows and orders and commit, then forget them.';
		END IF;
	END IF;
	-- a state row without orders is a deletion not yet folded in
	IF a.state_table IS NOT NULL AND relation_exists(a.state_table) THEN
		EXECUTE format('SELECT count(*) FROM %s s WHERE s.customer_id = ANY (%s)', a.state_table, keys_sql)
			INTO left_over USING customer_keys;
		IF left_over > 0 THEN
			RAISE EXCEPTION 'the deletion of the customers'' orders is not committed yet'
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  HINT = 'The maintained state follows it at commit: commit it, then forget them.';
		END IF;
	END IF;
	-- stored tags close their history intervals as they go; then the history
	IF a.tags_table IS NOT NULL AND relation_exists(a.tags_table) THEN
		EXECUTE format('DELETE FROM %s g WHERE g.customer_id = ANY (%s)', a.tags_table, keys_sql) USING customer_keys;
	END IF;
	IF a.history_table IS NOT NULL AND relation_exists(a.history_table) THEN
		EXECUTE format('DELETE FROM %s h WHERE h.customer_id = ANY (%s)', a.history_table, keys_sql)
			USING customer_keys;
	END IF;
	INSERT INTO segment_erasures (attachment_name, customers) VALUES (a.attachment_name, customers);
	RETURN customers;
END
$function$;
COMMENT ON FUNCTION @extschema@.forget_customers(text, text[]) IS
	'erases customers whose orders and customers rows are deleted and committed from every table the extension keeps for the attachment (state, tags, history with its snapshots) and records that an erasure happened, not whom; returns how many';

CREATE FUNCTION @extschema@.forget_customer(attachment_name text, customer_key text) RETURNS integer
	LANGUAGE sql
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT forget_customers(attachment_name, ARRAY[customer_key]) $$;
COMMENT ON FUNCTION @extschema@.forget_customer(text, text) IS
	'forget_customers() for one customer';
