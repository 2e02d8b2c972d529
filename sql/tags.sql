
-- customer tags: the segments of an attachment's attribute rules (rules a
-- customer's row alone decides, src/segment_rule.c), stored per customer
-- in <attachment>_tags for maintained attachments and kept current by a
-- trigger on the customers table (src/tags_trigger.c), so that the views
-- find the members of an attribute rule through a GIN index

CREATE FUNCTION @extschema@.segment_rule_is_attribute(expression text, customers regclass, customer_key name)
	RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	SET standard_conforming_strings = on;
COMMENT ON FUNCTION @extschema@.segment_rule_is_attribute(text, regclass, name) IS
	'whether a rule is an attribute rule: boolean over the columns of the customers table alone (key named customer_id), without subqueries, aggregates or functions whose result may change';

CREATE FUNCTION segment_internal.segment_tags_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME' LANGUAGE C
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	SET standard_conforming_strings = on;
COMMENT ON FUNCTION segment_internal.segment_tags_trigger() IS
	'keeps the tags table of a maintained attachment current as customers are inserted, updated, deleted and truncated';

-- Why the customers table of an attachment cannot have stored tags, in a
-- sentence; NULL if it can.
CREATE FUNCTION @extschema@.customer_tags_obstacle(attachment_name text) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	key_number smallint;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = customer_tags_obstacle.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', customer_tags_obstacle.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	IF a.customers_table IS NULL THEN
		RETURN format('Attachment "%s" has no customers table.', a.attachment_name);
	END IF;
	IF a.state_shards_table IS NOT NULL THEN
		RETURN format('The state of attachment "%s" is kept on the shards of Citus, where no trigger of the customers table writes tags.',
					  a.attachment_name);
	END IF;
	IF (SELECT c.relkind FROM pg_class c WHERE c.oid = a.customers_table) NOT IN ('r', 'p') THEN
		RETURN format('%s is not a table: only a table can have the trigger that tags customers.', a.customers_table);
	END IF;
	-- the tags would list customers the table's policies hide from readers
	IF (SELECT c.relrowsecurity FROM pg_class c WHERE c.oid = a.customers_table) THEN
		RETURN format('%s has row-level security enabled.', a.customers_table);
	END IF;
	SELECT att.attnum INTO key_number FROM pg_attribute att
	WHERE att.attrelid = a.customers_table AND att.attname = a.customer_key AND NOT att.attisdropped;
	-- one row per key at every moment, so that a key's tags are its row's
	IF NOT EXISTS (SELECT 1 FROM pg_index i
				   WHERE i.indrelid = a.customers_table AND i.indisunique AND i.indimmediate
					 AND i.indnkeyatts = 1 AND i.indkey[0] = key_number AND i.indpred IS NULL) THEN
		RETURN format('%s has no primary key or unique constraint on %I alone, not deferrable.',
					  a.customers_table, a.customer_key);
	END IF;
	IF NOT (SELECT att.attnotnull FROM pg_attribute att
			WHERE att.attrelid = a.customers_table AND att.attnum = key_number) THEN
		RETURN format('Column %I of %s may be NULL.', a.customer_key, a.customers_table);
	END IF;
	-- the trigger is created, and the table locked while the tags are refilled
	IF NOT (has_table_privilege(a.customers_table, 'TRIGGER') AND has_table_privilege(a.customers_table, 'UPDATE')) THEN
		RETURN format('You lack the TRIGGER or UPDATE privilege on %s.', a.customers_table);
	END IF;
	RETURN NULL;
END
$function$;
COMMENT ON FUNCTION @extschema@.customer_tags_obstacle(text) IS
	'why the customers table of an attachment cannot have stored tags (no primary key, not a table, row-level security, no TRIGGER or UPDATE privilege); NULL if it can';

-- The attribute rules of an attachment with stored tags, by name; none
-- without.  Names longer than a segment_set label stay judged when read.
CREATE FUNCTION segment_internal.customer_tag_rules(attachment_name text)
	RETURNS TABLE (rule_name text, expression text)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT r.rule_name, r.expression
		  FROM attachments a JOIN segment_rules r ON r.attachment_name = a.attachment_name
		  WHERE a.attachment_name = customer_tag_rules.attachment_name AND a.tags_table IS NOT NULL
			AND octet_length(r.rule_name) <= 255
			AND segment_rule_is_attribute(r.expression, a.customers_table, a.customer_key)
		  ORDER BY r.rule_name COLLATE "C" $$;
COMMENT ON FUNCTION segment_internal.customer_tag_rules(text) IS
	'the rules of an attachment whose segments its tags table stores: its attribute rules, if it has stored tags';

-- Brings the tags of an attachment in line with its attribute rules: the
-- trigger on the customers table and the stored rows.  With
-- only_if_rules_changed, does nothing while the trigger already evaluates
-- the current rules.  Returns the number of rows written, or NULL if it
-- did nothing.
CREATE FUNCTION segment_internal.store_customer_tags(attachment_name text, only_if_rules_changed boolean) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	SET standard_conforming_strings = on
	AS $function$
DECLARE
	a attachments;
	ext text;
	obstacle text;
	customer_columns text;
	labels text := '';
	segments text;
	store text;
	trigger_name text;
	wanted bytea;
	present bytea;
	written bigint;
	r record;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = store_customer_tags.attachment_name;
	IF NOT FOUND OR a.tags_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" has no stored customer tags', store_customer_tags.attachment_name
			USING ERRCODE = 'undefined_object';
	END IF;
	obstacle := customer_tags_obstacle(a.attachment_name);
	IF obstacle IS NOT NULL THEN
		RAISE EXCEPTION 'cannot store the customer tags of attachment "%"', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = obstacle,
				  HINT = 'Fix that, or call stop_maintaining() and maintain_attachment() to judge rules when read.';
	END IF;
	ext := extension_schema();
	trigger_name := 'segment_' || a.attachment_name || '_tags';

	-- a customer's row as the customers view names its columns
	SELECT coalesce(string_agg(format(', c.%I', att.attname), '' ORDER BY att.attnum), '') INTO customer_columns
	FROM pg_attribute att
	WHERE att.attrelid = a.customers_table AND att.attnum > 0 AND NOT att.attisdropped
	  AND att.attname <> a.customer_key;
	FOR r IN SELECT * FROM customer_tag_rules(a.attachment_name) LOOP
		-- the newline ends a trailing -- comment of the expression
		labels := labels || format(', CASE WHEN (%s
) THEN %L::pg_catalog.text END', r.expression, r.rule_name);
	END LOOP;
	IF labels <> '' THEN
		segments := format('%s.segment_set(pg_catalog.array_remove(ARRAY[NULL::pg_catalog.text%s], NULL::pg_catalog.text))',
						   ext, labels);
		-- $1 is the customer's row
		store := format($store$WITH judged AS (
	SELECT customer.customer_id, %1$s AS segments
	FROM (SELECT c.%2$I AS customer_id%3$s FROM (SELECT ($1).*) c) AS customer
), untagged AS (
	DELETE FROM %4$s t USING judged j
	WHERE t.customer_id OPERATOR(pg_catalog.=) j.customer_id AND j.segments OPERATOR(%5$s.=) '{}'::%5$s.segment_set
)
INSERT INTO %4$s AS t (customer_id, segments)
SELECT j.customer_id, j.segments FROM judged j WHERE j.segments OPERATOR(%5$s.<>) '{}'::%5$s.segment_set
ON CONFLICT (customer_id) DO UPDATE SET segments = excluded.segments
WHERE t.segments OPERATOR(%5$s.<>) excluded.segments$store$,
			segments, a.customer_key, customer_columns, a.tags_table, ext);
		wanted := convert_to(a.attachment_name, getdatabaseencoding()) || '\x00'::bytea
				  || convert_to(a.tags_table::text, getdatabaseencoding()) || '\x00'::bytea
				  || convert_to(a.customer_key, getdatabaseencoding()) || '\x00'::bytea
				  || convert_to(store, getdatabaseencoding()) || '\x00'::bytea;
	END IF;
	SELECT t.tgargs INTO present FROM pg_trigger t
	WHERE t.tgrelid = a.customers_table AND t.tgname = trigger_name;
	IF only_if_rules_changed AND present IS NOT DISTINCT FROM wanted THEN
		RETURN NULL;
	END IF;

	-- no customer may change between the triggers' start and the refill
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', a.customers_table);
	IF present IS DISTINCT FROM wanted THEN
		FOR r IN SELECT t.tgname FROM pg_trigger t
				 WHERE t.tgrelid = a.customers_table AND t.tgname IN (trigger_name, trigger_name || '_truncate') LOOP
			EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, a.customers_table);
		END LOOP;
		IF store IS NOT NULL THEN
			EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
						   'EXECUTE FUNCTION segment_internal.segment_tags_trigger(%L, %L, %L, %L)',
						   trigger_name, a.customers_table, a.attachment_name, a.tags_table, a.customer_key, store);
			EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
						   'EXECUTE FUNCTION segment_internal.segment_tags_trigger(%L, %L)',
						   trigger_name || '_truncate', a.customers_table, a.attachment_name, a.tags_table);
		END IF;
	END IF;
	IF store IS NULL THEN
		EXECUTE format('DELETE FROM %s', a.tags_table);
		GET DIAGNOSTICS written = ROW_COUNT;
		RETURN written;
	END IF;
	-- rewrite only the rows whose tags differ
	EXECUTE format($refill$
		WITH judged AS MATERIALIZED (
			SELECT customer.customer_id, %1$s AS segments
			FROM (SELECT c.%2$I AS customer_id%3$s FROM %6$s c) AS customer
		), removed AS (
			DELETE FROM %4$s t
			WHERE NOT EXISTS (SELECT 1 FROM judged j WHERE j.customer_id = t.customer_id
														AND j.segments <> '{}'::%5$s.segment_set)
			RETURNING 1
		), stored AS (
			INSERT INTO %4$s AS t (customer_id, segments)
			SELECT j.customer_id, j.segments FROM judged j WHERE j.segments <> '{}'::%5$s.segment_set
			ON CONFLICT (customer_id) DO UPDATE SET segments = excluded.segments
			WHERE t.segments <> excluded.segments
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM removed) + (SELECT count(*) FROM stored)$refill$,
		segments, a.customer_key, customer_columns, a.tags_table, ext, a.customers_table)
		INTO written;
	RETURN written;
END
$function$;
COMMENT ON FUNCTION segment_internal.store_customer_tags(text, boolean) IS
	'makes the trigger on the customers table evaluate the attachment''s attribute rules and rewrites the tags that differ; returns the rows written';

CREATE FUNCTION @extschema@.refresh_customer_tags(attachment_name text) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	tags text;
	obstacle text;
	ext text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = refresh_customer_tags.attachment_name;
	IF NOT FOUND OR a.state_table IS NULL THEN
		RAISE EXCEPTION 'attachment "%" is not maintained', refresh_customer_tags.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Customer tags are stored for maintained attachments: maintain_attachment().';
	END IF;
	IF a.tags_table IS NULL THEN
		obstacle := customer_tags_obstacle(a.attachment_name);
		IF obstacle IS NOT NULL THEN
			RAISE EXCEPTION 'cannot store the customer tags of attachment "%"', a.attachment_name
				USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = obstacle,
					  HINT = 'Its rule segments are judged when read.';
		END IF;
		ext := extension_schema();
		tags := format('%I.%I', a.view_schema, a.attachment_name || '_tags');
		EXECUTE format('CREATE TABLE %s (customer_id %s PRIMARY KEY, segments %s.segment_set NOT NULL)',
					   tags, format_type(column_type(a.customers_table, a.customer_key), NULL), ext);
		EXECUTE format('CREATE INDEX ON %s USING gin (segments)', tags);
		PERFORM comment_relation(tags,
			format('the attribute-rule segments of the customers of %s, kept current by trigger %s (segment attachment %s)',
				   a.customers_table, 'segment_' || a.attachment_name || '_tags', a.attachment_name),
			'customer_id', 'the customer''s key',
			'segments', 'the attribute rules the customer''s row meets (GIN indexed); customers in none have no row');
		UPDATE attachments t SET tags_table = tags::regclass WHERE t.attachment_name = a.attachment_name;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'permission denied to change attachment "%"', a.attachment_name
				USING ERRCODE = 'insufficient_privilege', HINT = 'Its owner refreshes it.';
		END IF;
		-- the tags written from now on enter the history
		PERFORM install_history_triggers(a.attachment_name);
	END IF;
	RETURN store_customer_tags(a.attachment_name, only_if_rules_changed => false);
END
$function$;
COMMENT ON FUNCTION @extschema@.refresh_customer_tags(text) IS
	'stores the attribute-rule segments of every customer of a maintained attachment in its tags table (made if missing) and has a trigger keep them current; returns the rows written';
