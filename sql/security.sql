
-- security: who may write the configuration tables (src/security.sql)
--
-- The functions run with the rights of their caller (none is SECURITY
-- DEFINER), so a role that attaches tables writes attachments and
-- segment_rules itself, once granted INSERT, UPDATE, DELETE on them.
-- Row-level security then keeps it to attachments of orders tables it owns,
-- and a trigger checks that what a row names (views, state table, schema)
-- belongs to the writer: functions run by others, superusers included,
-- later drop and read what these rows name.

-- Whether the current role has the rights of the owner of a relation.
CREATE FUNCTION segment_internal.owns_relation(relation regclass) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE') FROM pg_catalog.pg_class c
		  WHERE c.oid OPERATOR(pg_catalog.=) relation $$;
COMMENT ON FUNCTION segment_internal.owns_relation(regclass) IS
	'whether the current role has the rights of the owner of the relation; NULL if there is no such relation';

-- Whether the current role may read what an attachment's views read.
CREATE FUNCTION segment_internal.reads_attachment(orders_table regclass, state_table regclass) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT coalesce(owns_relation(orders_table), false)
			  OR coalesce(pg_catalog.has_table_privilege(coalesce(state_table, orders_table), 'SELECT'), false) $$;
COMMENT ON FUNCTION segment_internal.reads_attachment(regclass, regclass) IS
	'whether the current role owns the orders table of an attachment or may read the table its views read';

CREATE FUNCTION segment_internal.attachments_check() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	view_oid oid;
	kept record;
BEGIN
	-- an attachment whose orders table was dropped may still be cleaned up
	IF NOT coalesce(owns_relation(NEW.orders_table), TG_OP = 'UPDATE') THEN
		RAISE EXCEPTION 'must be owner of table % to attach it', NEW.orders_table
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF NEW.customers_table IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.customers_table IS DISTINCT FROM OLD.customers_table)
	   AND NOT has_table_privilege(NEW.customers_table, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %', NEW.customers_table
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF NEW.campaigns_table IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.campaigns_table IS DISTINCT FROM OLD.campaigns_table)
	   AND NOT has_table_privilege(NEW.campaigns_table, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %', NEW.campaigns_table
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF (TG_OP = 'INSERT' OR NEW.view_schema IS DISTINCT FROM OLD.view_schema)
	   AND NOT coalesce(has_schema_privilege(NEW.view_schema, 'CREATE'), false) THEN
		RAISE EXCEPTION 'permission denied to create views in schema %', NEW.view_schema
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- the tables an attachment keeps get dropped by whoever detaches: they
	-- must be the writer's own, in the attachment's schema (views below)
	FOR kept IN SELECT * FROM (VALUES ('state', NEW.state_table, OLD.state_table),
									  ('history', NEW.history_table, OLD.history_table),
									  ('tags', NEW.tags_table, OLD.tags_table),
									  ('pseudonym secret', NEW.pseudonym_secret_table, OLD.pseudonym_secret_table),
									  ('state shards', NEW.state_shards_table, OLD.state_shards_table))
						  AS k(kind, new_table, old_table)
	LOOP
		IF kept.new_table IS NOT NULL AND (TG_OP = 'INSERT' OR kept.new_table IS DISTINCT FROM kept.old_table)
		   AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
						   WHERE c.oid = kept.new_table AND c.relkind = 'r' AND n.nspname = NEW.view_schema
							 AND pg_has_role(c.relowner, 'USAGE')) THEN
			RAISE EXCEPTION '% table % of attachment "%" must be a table of yours in schema %',
				kept.kind, kept.new_table, NEW.attachment_name, NEW.view_schema
				USING ERRCODE = 'insufficient_privilege';
		END IF;
	END LOOP;
	-- the event triggers act on what the row lists as partitions
	IF (TG_OP = 'INSERT' OR NEW.orders_partitions IS DISTINCT FROM OLD.orders_partitions)
	   AND EXISTS (SELECT 1 FROM unnest(NEW.orders_partitions) p
				   WHERE p NOT IN (SELECT t.relid FROM pg_partition_tree(NEW.orders_table) t)) THEN
		RAISE EXCEPTION 'the partitions of attachment "%" must be partitions of %', NEW.attachment_name, NEW.orders_table
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF TG_OP = 'INSERT' OR NEW.views IS DISTINCT FROM OLD.views THEN
		FOR i IN 1 .. coalesce(array_upper(NEW.views, 1), 0) LOOP
			-- a name and nothing else: any other syntax names no view
			-- (to_regclass raises on it before PostgreSQL 16)
			BEGIN
				view_oid := to_regclass(NEW.views[i]);
			EXCEPTION WHEN invalid_name THEN
				view_oid := NULL;
			END;
			IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
						   WHERE c.oid = view_oid AND c.relkind = 'v' AND n.nspname = NEW.view_schema
							 AND pg_has_role(c.relowner, 'USAGE')) THEN
				RAISE EXCEPTION 'view % of attachment "%" must be a view of yours in schema %',
					NEW.views[i], NEW.attachment_name, NEW.view_schema
					USING ERRCODE = 'insufficient_privilege';
			END IF;
		END LOOP;
	END IF;
	RETURN NEW;
END
$function$;
COMMENT ON FUNCTION segment_internal.attachments_check() IS
	'trigger of attachments: the writer owns the orders table, reads the customers and campaign events tables, and owns the views, state, tags, history, pseudonym secret and state shards tables the row names';
CREATE TRIGGER attachments_check BEFORE INSERT OR UPDATE ON @extschema@.attachments
	FOR EACH ROW EXECUTE FUNCTION segment_internal.attachments_check();
COMMENT ON TRIGGER attachments_check ON @extschema@.attachments IS
	'checks that a row names only objects its writer owns or may read';

ALTER TABLE @extschema@.attachments ENABLE ROW LEVEL SECURITY;
CREATE POLICY attachments_read ON @extschema@.attachments FOR SELECT
	USING (segment_internal.reads_attachment(orders_table, state_table));
CREATE POLICY attachments_insert ON @extschema@.attachments FOR INSERT
	WITH CHECK (segment_internal.owns_relation(orders_table));
-- once the orders table is dropped, the owner of the state table (or, when
-- that is gone too, anyone) may clean the attachment up
CREATE POLICY attachments_update ON @extschema@.attachments FOR UPDATE
	USING (coalesce(segment_internal.owns_relation(orders_table), segment_internal.owns_relation(state_table), true))
	WITH CHECK (coalesce(segment_internal.owns_relation(orders_table), segment_internal.owns_relation(state_table), true));
CREATE POLICY attachments_delete ON @extschema@.attachments FOR DELETE
	USING (coalesce(segment_internal.owns_relation(orders_table), segment_internal.owns_relation(state_table), true));
COMMENT ON POLICY attachments_read ON @extschema@.attachments IS
	'an attachment is visible to the owner of its orders table and to roles that may read what its views read';
COMMENT ON POLICY attachments_insert ON @extschema@.attachments IS 'a role attaches only orders tables it owns';
COMMENT ON POLICY attachments_update ON @extschema@.attachments IS 'a role changes only attachments of orders tables it owns, or of dropped ones';
COMMENT ON POLICY attachments_delete ON @extschema@.attachments IS 'a role detaches only attachments of orders tables it owns, or of dropped ones';

ALTER TABLE @extschema@.segment_rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY segment_rules_read ON @extschema@.segment_rules FOR SELECT
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_rules.attachment_name));
CREATE POLICY segment_rules_write ON @extschema@.segment_rules FOR ALL
	USING (EXISTS (SELECT 1 FROM @extschema@.attachments a
				   WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_rules.attachment_name
					 AND segment_internal.owns_relation(a.orders_table)))
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.attachments a
						WHERE a.attachment_name OPERATOR(pg_catalog.=) segment_rules.attachment_name
						  AND segment_internal.owns_relation(a.orders_table)));
COMMENT ON POLICY segment_rules_read ON @extschema@.segment_rules IS
	'rules are visible with their attachment: the summary views read their names';
COMMENT ON POLICY segment_rules_write ON @extschema@.segment_rules IS
	'a role writes only rules of attachments of orders tables it owns';
-- the summary views list the rules with the rights of their reader
GRANT SELECT ON @extschema@.segment_rules TO PUBLIC;
