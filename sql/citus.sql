
-- maintained state on Citus: the state of orders distributed by customer,
-- kept on the nodes that hold them
--
-- The state table is distributed beside the orders (co-located: a
-- customer's orders and state row in shards on one node).  Citus clones
-- the row trigger of the orders to every shard, where it fires on the
-- worker with the distributed attachment's name; each node keeps one row of
-- its own in attachments per pair of co-located shards it holds, named
-- <attachment>/<shard id>, which the trigger finds by its table
-- (src/state_trigger.c), and the fold at commit writes the node's state
-- shard from its orders shard with the statements of any attachment: it
-- reads and writes local tables only, inside the node's part of the
-- distributed transaction.
--
-- Those rows are kept by a trigger on a reference table, <attachment>
-- _state_shards, which Citus writes on every node in the writer's
-- transaction: the coordinator copies the configuration the state is
-- written with (thresholds, the segments of the score cells, lifecycle
-- limits) into its one row, and asks there for the state to be derived
-- again, or scored again, which every node then does on its own shards.

-- Whether Citus distributes a table by hash of the column, and why its
-- state cannot be kept on the shards otherwise; NULL if it can.
CREATE FUNCTION segment_internal.citus_state_obstacle(orders regclass, customer_column name) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $function$
DECLARE
	method "char";
	key_column name;
	workers_without_metadata bigint;
BEGIN
	EXECUTE 'SELECT p.partmethod, pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) '
			'FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1'
		INTO method, key_column USING orders;
	IF method IS DISTINCT FROM 'h' OR key_column IS DISTINCT FROM customer_column THEN
		RETURN format('%s is not distributed by its customer column %I: the state is kept beside a customer''s orders, on the shard that holds them.',
					  orders, customer_column);
	END IF;
	IF (SELECT c.relkind FROM pg_class c WHERE c.oid = orders) = 'p' THEN
		RETURN format('%s is a partitioned distributed table: the state is kept on the shards of plain distributed tables.', orders);
	END IF;
	-- a coordinator's client sessions do not see its shards, which the
	-- state would be written from
	EXECUTE 'SELECT count(*) FROM pg_catalog.pg_dist_shard s JOIN pg_catalog.pg_dist_placement p USING (shardid) '
			'WHERE s.logicalrelid OPERATOR(pg_catalog.=) $1 AND p.groupid OPERATOR(pg_catalog.=) 0'
		INTO workers_without_metadata USING orders;
	IF workers_without_metadata > 0 THEN
		RETURN format('The coordinator holds shards of %s: the state is kept on the workers'' shards.', orders);
	END IF;
	-- the trigger on a worker's shard finds the shards through the metadata
	EXECUTE 'SELECT count(*) FROM pg_catalog.pg_dist_node n WHERE n.isactive AND n.noderole OPERATOR(pg_catalog.=) ''primary'' '
			'AND n.groupid OPERATOR(pg_catalog.<>) 0 AND NOT n.hasmetadata'
		INTO workers_without_metadata;
	IF workers_without_metadata > 0 THEN
		RETURN format('%s worker nodes of Citus have no metadata: the nodes keep the state of their shards by it.',
					  workers_without_metadata);
	END IF;
	RETURN NULL;
END
$function$;
COMMENT ON FUNCTION segment_internal.citus_state_obstacle(regclass, name) IS
	'why the state of a Citus distributed orders table cannot be kept on its shards (not hash-distributed by the customer, partitioned, workers without metadata); NULL if it can';

-- The relation of a shard, if this node has it.  shard_name() leaves out
-- the schema public.
CREATE FUNCTION segment_internal.shard_relation(distributed regclass, shard_id bigint) RETURNS regclass
	LANGUAGE plpgsql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $function$
DECLARE
	name text;
BEGIN
	EXECUTE 'SELECT pg_catalog.shard_name($1, $2)' INTO name USING distributed, shard_id;
	RETURN coalesce(to_regclass(name), to_regclass('public.' || name));
END
$function$;
COMMENT ON FUNCTION segment_internal.shard_relation(regclass, bigint) IS
	'the relation of a shard of a Citus table on this node; NULL if it has none';

-- The pairs of co-located shards of the orders and the state that this
-- node holds; none without Citus.
CREATE FUNCTION segment_internal.local_shard_pairs(orders regclass, state regclass)
	RETURNS TABLE (shard_id bigint, orders_shard regclass, state_shard regclass)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $function$
BEGIN
	IF to_regclass('pg_catalog.pg_dist_shard') IS NULL THEN
		RETURN;
	END IF;
	RETURN QUERY EXECUTE
		'SELECT p.shard_id, p.orders_shard, p.state_shard FROM (
			SELECT o.shardid AS shard_id, segment_internal.shard_relation($1, o.shardid) AS orders_shard,
				   segment_internal.shard_relation($2, s.shardid) AS state_shard
			FROM pg_catalog.pg_dist_shard o
			JOIN pg_catalog.pg_dist_shard s ON s.logicalrelid OPERATOR(pg_catalog.=) $2
				 AND s.shardminvalue OPERATOR(pg_catalog.=) o.shardminvalue
			WHERE o.logicalrelid OPERATOR(pg_catalog.=) $1
			  AND EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement l
						  WHERE l.shardid OPERATOR(pg_catalog.=) o.shardid
							AND l.groupid OPERATOR(pg_catalog.=) (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g))
		) p WHERE p.orders_shard IS NOT NULL AND p.state_shard IS NOT NULL
		ORDER BY p.shard_id'
		USING orders, state;
END
$function$;
COMMENT ON FUNCTION segment_internal.local_shard_pairs(regclass, regclass) IS
	'the co-located shards of a distributed orders table and its state table that this Citus node holds';

-- Trigger of the <attachment>_state_shards reference table, on every
-- node's placement: keeps the node's rows for the shard pairs it holds
-- (names <attachment>/<shard id>) as the row says, and does what it asks
-- on each of them.
CREATE FUNCTION segment_internal.keep_state_shards() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	pair record;
	shard_attachment text;
	truncate_trigger text;
	gone regclass;
BEGIN
	truncate_trigger := 'segment_' || coalesce(NEW.attachment_name, OLD.attachment_name) || '_state_truncate';
	IF TG_OP = 'DELETE' THEN
		FOR gone IN DELETE FROM attachments t WHERE t.shard_of = OLD.attachment_name RETURNING t.orders_table LOOP
			IF relation_exists(gone) THEN
				EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', truncate_trigger, gone);
			END IF;
		END LOOP;
		RETURN OLD;
	END IF;
	-- shards this node no longer holds
	DELETE FROM attachments t
	WHERE t.shard_of = NEW.attachment_name
	  AND t.orders_table NOT IN (SELECT p.orders_shard FROM local_shard_pairs(NEW.orders_table, NEW.state_table) p);
	FOR pair IN SELECT * FROM local_shard_pairs(NEW.orders_table, NEW.state_table) LOOP
		shard_attachment := NEW.attachment_name || '/' || pair.shard_id;
		INSERT INTO attachments AS t
			(attachment_name, shard_of, orders_table, state_table, customer_column, order_time_column, amount_column,
			 view_schema, map_name, bins, time_zone, orders_partitions, orders_types, thresholds, cell_segments,
			 lifecycle_limits)
		SELECT shard_attachment, NEW.attachment_name, pair.orders_shard, pair.state_shard, NEW.customer_column,
			   NEW.order_time_column, NEW.amount_column, n.nspname, 'default', NEW.bins, NEW.time_zone, '{}',
			   NEW.orders_types, NEW.thresholds, NEW.cell_segments, NEW.lifecycle_limits
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = pair.state_shard
		ON CONFLICT (attachment_name) DO UPDATE
		SET (orders_table, state_table, customer_column, order_time_column, amount_column, view_schema, bins,
			 time_zone, orders_types, thresholds, cell_segments, lifecycle_limits) =
			(excluded.orders_table, excluded.state_table, excluded.customer_column, excluded.order_time_column,
			 excluded.amount_column, excluded.view_schema, excluded.bins, excluded.time_zone, excluded.orders_types,
			 excluded.thresholds, excluded.cell_segments, excluded.lifecycle_limits);
		-- Citus truncates the shards over the connections that wrote them,
		-- in the backends that hold their events
		IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = pair.orders_shard AND t.tgname = truncate_trigger) THEN
			EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
						   'EXECUTE FUNCTION segment_internal.segment_state_trigger(%L)',
						   truncate_trigger, pair.orders_shard, NEW.attachment_name);
		END IF;
		IF NEW.request IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.request_number IS DISTINCT FROM OLD.request_number) THEN
			IF NEW.request = 'refill' THEN
				PERFORM rebuild_state(shard_attachment);
			ELSE
				PERFORM lock_state_tables(shard_attachment);
				PERFORM rescore_state(shard_attachment, only_expired => NEW.request = 'rescore_expired');
			END IF;
		END IF;
	END LOOP;
	RETURN NEW;
END
$function$;
COMMENT ON FUNCTION segment_internal.keep_state_shards() IS
	'trigger of a state shards reference table on every Citus node: keeps the node''s attachment rows of the shard pairs it holds as the row says, and derives or scores their state again when the row asks';

-- Runs a function of Citus with a setting of Citus changed meanwhile.
CREATE FUNCTION segment_internal.with_citus_setting(setting text, value text, statement text) RETURNS void
	LANGUAGE plpgsql
	-- the path of its callers, whose names the statement holds
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	saved text := current_setting(setting);
BEGIN
	PERFORM set_config(setting, value, true);
	EXECUTE statement;
	PERFORM set_config(setting, saved, true);
END
$function$;
COMMENT ON FUNCTION segment_internal.with_citus_setting(text, text, text) IS
	'runs a statement with a setting changed for its duration (citus.enable_unsafe_triggers, citus.multi_shard_modify_mode)';

-- The state table of an attachment of distributed orders: distributed
-- beside them, and the reference table that has every node keep the state
-- of its shards.  In the transaction of maintain_attachment().
CREATE FUNCTION segment_internal.distribute_state(attachment_name text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	shards text;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = distribute_state.attachment_name;
	shards := format('%I.%I', a.view_schema, a.attachment_name || '_state_shards');
	-- one connection per node, in this transaction: the nodes' triggers on
	-- the reference table then see the state's shards made before them
	PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
	EXECUTE format('SELECT pg_catalog.create_distributed_table(%L, %L, colocate_with => %L)',
				   a.state_table, 'customer_id', a.orders_table);
	EXECUTE format('CREATE TABLE %s (attachment_name text PRIMARY KEY, orders_table regclass NOT NULL, '
				   'state_table regclass NOT NULL, customer_column name NOT NULL, order_time_column name NOT NULL, '
				   'amount_column name NOT NULL, bins integer NOT NULL, time_zone text NOT NULL, orders_types regtype[], '
				   'thresholds %2$s.rfm_thresholds, cell_segments %2$s.segment_set[], lifecycle_limits double precision[], '
				   'request text CHECK (request IN (''refill'', ''rescore'', ''rescore_expired'')), '
				   'request_number bigint NOT NULL DEFAULT 0)', shards, extension_schema());
	PERFORM comment_relation(shards,
		format('how every Citus node keeps the state of its shards of %s (segment attachment %s): a copy of what the state is written with, and the last request', a.orders_table, a.attachment_name),
		'attachment_name', 'the attachment, as the coordinator names it',
		'orders_table', 'the distributed orders table',
		'state_table', 'the distributed state table, co-located with the orders',
		'customer_column', 'customer key column of the orders',
		'order_time_column', 'order time column of the orders',
		'amount_column', 'amount column of the orders',
		'bins', 'score bins per dimension',
		'time_zone', 'time zone of order times without one',
		'orders_types', 'types of the order time and amount columns',
		'thresholds', 'the stored thresholds the state is scored against',
		'cell_segments', 'the RFM segments of every score cell',
		'lifecycle_limits', 'the lifecycle limits, NULL for the defaults',
		'request', 'refill (derive again from the orders), rescore or rescore_expired: done on every shard when request_number grows',
		'request_number', 'how many requests were made');
	EXECUTE format('SELECT pg_catalog.create_reference_table(%L)', shards);
	PERFORM with_citus_setting('citus.enable_unsafe_triggers', 'on',
		format('CREATE TRIGGER keep_state_shards AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
			   'EXECUTE FUNCTION segment_internal.keep_state_shards()', shards));
	UPDATE attachments t SET state_shards_table = shards::regclass WHERE t.attachment_name = a.attachment_name;
	EXECUTE format('INSERT INTO %s (attachment_name, orders_table, state_table, customer_column, order_time_column, '
				   'amount_column, bins, time_zone, orders_types) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', shards)
		USING a.attachment_name, a.orders_table, a.state_table, a.customer_column, a.order_time_column,
			  a.amount_column, a.bins, a.time_zone, a.orders_types;
END
$function$;
COMMENT ON FUNCTION segment_internal.distribute_state(text) IS
	'distributes the new state table of an attachment of Citus distributed orders beside them, and creates the reference table through which every node keeps the state of its shards';

-- Copies what the state of a distributed attachment is written with to
-- every node, and has each do a statement of state_statements() on its
-- shards: refill, rescore or rescore_expired (NULL: none).
CREATE FUNCTION segment_internal.request_state_shards(attachment_name text, request text) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	a attachments;
	requested bigint;
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = request_state_shards.attachment_name;
	-- over the connections that wrote the shards in this transaction, if any
	PERFORM with_citus_setting('citus.multi_shard_modify_mode', 'sequential', format(
		'UPDATE %s s SET (orders_table, state_table, customer_column, order_time_column, amount_column, bins, '
		'time_zone, orders_types, thresholds, cell_segments, lifecycle_limits, request, request_number) = '
		'(%L, %L, %L, %L, %L, %s, %L, %L, %L, %L, %L, %L, s.request_number + 1) WHERE s.attachment_name = %L',
		a.state_shards_table, a.orders_table, a.state_table, a.customer_column, a.order_time_column, a.amount_column,
		a.bins, a.time_zone, a.orders_types, a.thresholds, a.cell_segments, a.lifecycle_limits, request,
		a.attachment_name));
	EXECUTE format('SELECT s.request_number FROM %s s WHERE s.attachment_name = %L AND s.request IS NOT DISTINCT FROM %L',
				   a.state_shards_table, a.attachment_name, request)
		INTO requested;
	IF requested IS NULL THEN
		RAISE EXCEPTION 'the state shards of attachment "%" are gone', a.attachment_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = format('%s has no row for it: the nodes no longer keep their shards'' state as told.',
								  a.state_shards_table),
				  HINT = format('Call stop_maintaining(%L) and maintain_attachment(%L).', a.attachment_name, a.attachment_name);
	END IF;
END
$function$;
COMMENT ON FUNCTION segment_internal.request_state_shards(text, text) IS
	'copies the thresholds, cell segments and lifecycle limits of a distributed attachment to every Citus node, and has each refill or rescore the state of its shards';
