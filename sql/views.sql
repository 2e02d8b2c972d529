
-- views: the views an attachment gives BI tools, one builder per kind of
-- view (the query of each), and build_attachment_views(), which creates
-- them all from the attachment, its map and its rules.
--
-- The builders read the configuration and write nothing but views: the
-- stored state and tags are brought in line by their own code before
-- (rebuild_attachment_views() in attach.sql, maintain_attachment() in
-- state.sql), so that calls go one way, from attach and state to here.
-- Every name is quoted with format('%I'); the only SQL spliced is a rule's
-- expression, which segment_rule_check() has proved to be one expression.

-- A view-name fragment of a segment name: lower case, words joined by _,
-- letters with accents as the letters they carry (Öğrenci gives ogrenci)
-- when the database is UTF-8; letters of other alphabets stay, lower case
-- where the database's locale knows them.  Latin letters give the same in
-- any locale: accents go before lower(), and the classes are spelled out.
CREATE FUNCTION segment_internal.segment_slug(segment_name text) RETURNS text
	LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $function$
DECLARE
	slug text := segment_name;
BEGIN
	IF getdatabaseencoding() <> 'UTF8' THEN
		RETURN btrim(regexp_replace(replace(lower(slug), '''', ''), '[^a-z0-9]+', '_', 'g'), '_');
	END IF;
	-- decomposed, a letter's accents are combining marks of their own
	slug := regexp_replace(normalize(slug, NFKD), '[\u0300-\u036f]', '', 'g');
	slug := translate(slug, 'ıłđøħŧŁĐØĦŦ', 'ildohtLDOHT');
	slug := replace(replace(replace(replace(slug, 'ß', 'ss'), 'æ', 'ae'), 'Æ', 'AE'), 'œ', 'oe');
	slug := replace(replace(replace(replace(slug, 'Œ', 'OE'), 'þ', 'th'), 'Þ', 'TH'), 'ð', 'd');
	slug := lower(regexp_replace(replace(slug, 'Ð', 'D'), '[''\u2019]', '', 'g'));
	-- runs of anything but letters and digits: ASCII punctuation, Latin-1
	-- signs, general and CJK punctuation
	RETURN btrim(regexp_replace(slug, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\xbf\xd7\xf7\u2000-\u206f\u3000-\u303f]+',
								'_', 'g'), '_');
END
$function$;
COMMENT ON FUNCTION segment_internal.segment_slug(text) IS
	'the name of a segment as it appears in view names: Can''t Lose Them gives cant_lose_them, Öğrenci gives ogrenci';

-- The columns the customers view adds to the customers table's own.
CREATE FUNCTION segment_internal.customer_view_columns()
	RETURNS TABLE (column_name name, description text)
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$ VALUES
		('order_count'::name, 'number of orders; 0 for a prospect'),
		('total_amount', 'exact total of the order amounts; 0 for a prospect'),
		('average_order_value', 'total amount over orders; NULL for a prospect'),
		('population_average_order_value', 'average order value of all customers with orders'),
		('first_order_time', 'time of the first order'),
		('last_order_time', 'time of the last order'),
		('recency_days', 'days from the last order to the analysis time (segment_as_of())'),
		('recency_score', 'R: 1 (longest ago) to bins (most recent)'),
		('frequency_score', 'F: 1 (fewest orders) to bins (most)'),
		('monetary_score', 'M: 1 (smallest total) to bins (largest)'),
		('rfm_cell', 'three-digit cell code, such as 543'),
		('rfm', 'scores as R-F-M, such as 5-4-3'),
		('segment', 'primary named RFM segment'),
		('segments', 'every segment the customer belongs to: the RFM segments in the map''s order, then the rule segments by name, those that name segments last'),
		('lifecycle_stage', 'prospect, new, active, at_risk, lapsed or reactivated')
	$$;
COMMENT ON FUNCTION segment_internal.customer_view_columns() IS
	'the columns segment adds to a customer in the views of an attachment';

-- The schema the extension was created in, quoted: the SQL the views and
-- the state's statements are built of names its types and functions by it.
CREATE FUNCTION segment_internal.extension_schema() RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT pg_catalog.quote_ident(n.nspname)
		  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
		  WHERE e.extname OPERATOR(pg_catalog.=) 'segment' $$;
COMMENT ON FUNCTION segment_internal.extension_schema() IS
	'the schema the extension was created in, quoted as an identifier';

-- Comments a view or table (unless relation_comment is NULL) and its
-- columns: pairs of column name and comment.
CREATE FUNCTION segment_internal.comment_relation(relation_name text, relation_comment text, VARIADIC columns text[])
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $function$
BEGIN
	IF relation_comment IS NOT NULL THEN
		EXECUTE format('COMMENT ON %s %s IS %L',
				   CASE (SELECT c.relkind FROM pg_class c WHERE c.oid = relation_name::regclass)
						WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
				   relation_name, relation_comment);
	END IF;
	FOR i IN 1 .. coalesce(array_upper(columns, 1), 0) BY 2 LOOP
		EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', relation_name, columns[i], columns[i + 1]);
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.comment_relation(text, text, text[]) IS
	'comments a view or table of an attachment and its columns, given as pairs of name and comment';

-- The segments of an attachment in display order: the map's by priority,
-- then the rules by name; kind is rfm or rule.  A rule that names the
-- customer's segments is judged after the others, over their result.
CREATE FUNCTION segment_internal.attachment_segments(attachment_name text)
	RETURNS TABLE (segment text, kind text, is_attribute boolean, names_segments boolean)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$
	SELECT s.segment, s.kind, s.is_attribute, s.names_segments FROM (
		SELECT b.segment_name AS segment, 'rfm'::text AS kind, false AS is_attribute, false AS names_segments,
			   b.priority AS position, NULL::text AS rule_order
		FROM attachments a JOIN segment_map_boxes b ON b.map_name = a.map_name
		WHERE a.attachment_name = attachment_segments.attachment_name
		UNION ALL
		SELECT r.rule_name, 'rule', r.rule_name IN (SELECT t.rule_name FROM customer_tag_rules(r.attachment_name) t),
			   segment_rule_names_segments(r.expression), NULL, r.rule_name
		FROM segment_rules r WHERE r.attachment_name = attachment_segments.attachment_name) s
	ORDER BY s.position NULLS LAST, s.rule_order $$;
COMMENT ON FUNCTION segment_internal.attachment_segments(text) IS
	'the segments of an attachment in display order (the map''s by priority, then the rules by name), with their kind, whether stored tags hold them and whether they name the customer''s segments';

-- The analysis time as the views compute it: segment_as_of().  A published
-- view takes no setting of its reader's: it judges at the analysis time of
-- its build if segment.as_of was set then, else at now().
CREATE FUNCTION segment_internal.analysis_time_sql(published boolean) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT CASE WHEN NOT published THEN format('%s.segment_as_of()', extension_schema())
					  WHEN nullif(current_setting('segment.as_of', true), '') IS NULL THEN 'pg_catalog.now()'
					  ELSE format('%L::pg_catalog.timestamptz', segment_as_of()) END $$;
COMMENT ON FUNCTION segment_internal.analysis_time_sql(boolean) IS
	'the analysis time as a view computes it: segment_as_of(), or for a published view the one of its build (now() if segment.as_of was not set)';

-- The query of the customers view: one row per customer (those of the
-- customers table, prospects included, or those found in the orders),
-- its statistics, scores, segments and lifecycle stage.  The columns it
-- carries between its levels are named _segment_*, so that no column of
-- the customers table can be mistaken for one.
CREATE FUNCTION segment_internal.customers_view_query(a @extschema@.attachments, published boolean DEFAULT false)
	RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	-- the lifecycle limits are spliced as text: every digit of them
	SET extra_float_digits = 3
	AS $function$
DECLARE
	ext text := extension_schema();
	clock text := analysis_time_sql(published);
	own name[] := '{}';
	clash name;
	stats_source text;
	scoring text;
	reference text := '';
	population text;
	rule_array text := '';
	later_rule_array text := '';
	-- the attachment's lifecycle limits, as constants: set_lifecycle_limits()
	-- builds the views again
	lifecycle_arguments text := CASE WHEN a.lifecycle_limits IS NULL THEN '' ELSE
		format(', %L::double precision, %L::double precision, %L::double precision, %L::integer, '
			   '%L::double precision, %L::double precision', a.lifecycle_limits[1], a.lifecycle_limits[2],
			   a.lifecycle_limits[3], a.lifecycle_limits[4]::integer, a.lifecycle_limits[5], a.lifecycle_limits[6]) END;
	seg record;
BEGIN
	IF a.customers_table IS NOT NULL THEN
		-- every column, shown or not: rules name them all
		clash := customers_column_clash(a.customers_table, a.customer_key);
		IF clash IS NOT NULL THEN
			RAISE EXCEPTION '% has a column "%", which the customers view computes', a.customers_table, clash
				USING ERRCODE = 'duplicate_column',
					  HINT = 'Attach a view of the customers table that renames or leaves out that column.';
		END IF;
		own := exposed_customer_columns(a);
	END IF;
	-- per-customer statistics: maintained by triggers with the scores and
	-- stage they give, stored while time alone leaves them unchanged and
	-- otherwise scored against the thresholds stored at the last refresh (no
	-- window over all customers, so reading one customer is an index
	-- lookup), or computed from the orders and scored against all customers
	-- at read time.
	IF a.state_table IS NOT NULL THEN
		-- a customer whose last order is after the analysis time counts
		-- with the orders at or before it, as an unmaintained attachment
		-- counts it (state_stats_at_sql())
		stats_source := format('SELECT s.customer_id, s.stats, s.stored_scores, s.stored_stage, s.stored_valid
	FROM (SELECT s.customer_id,
				 CASE WHEN %2$s.last_order_time(s.stats) <= clock.as_of THEN s.stats
					  ELSE segment_internal.state_stats_at(%3$L, s.customer_id, clock.as_of) END AS stats,
				 s.scores AS stored_scores, s.lifecycle_stage AS stored_stage,
				 s.valid_from <= clock.as_of AND clock.as_of < s.valid_until AS stored_valid
		  FROM %1$s s, (SELECT %4$s AS as_of) clock) s
	WHERE s.stats IS NOT NULL', a.state_table, ext, a.attachment_name, clock);
		scoring := format('CASE WHEN p._segment_stored_valid THEN p._segment_stored_scores
				ELSE %1$s.rfm_score(p._segment_stats, p._segment_judged_at, r.thresholds) END AS _segment_scores,
		   r.population_average_order_value AS _segment_population_average', ext);
		-- a published view runs as its owner, but the policy of attachments
		-- would judge its reader: it gets the stored values as constants,
		-- and is built again when they change
		reference := CASE WHEN published
			THEN format(', (SELECT %L::%s.rfm_thresholds AS thresholds, %L::numeric AS population_average_order_value) r',
						a.thresholds, ext, a.population_average_order_value)
			ELSE format(', (SELECT t.thresholds, t.population_average_order_value FROM %s.attachments t
		   WHERE t.attachment_name = %L) r', ext, a.attachment_name) END;
	ELSE
		scoring := format('%1$s.rfm_score(p._segment_stats, p._segment_judged_at, %2$s) OVER () AS _segment_scores,
		   sum(%1$s.total_amount(p._segment_stats)) OVER () / sum(%1$s.order_count(p._segment_stats)) OVER ()
			   AS _segment_population_average', ext, a.bins);
		stats_source := format(
			'SELECT o.%1$I AS customer_id, %2$s.rfm_stats(%6$s, o.%4$I::numeric) AS stats,
		   NULL::%2$s.rfm AS stored_scores, NULL::text AS stored_stage, false AS stored_valid
	FROM %5$s o
	WHERE %6$s <= (SELECT %7$s) AND o.%1$I IS NOT NULL
	GROUP BY o.%1$I', a.customer_column, ext, a.order_time_column, a.amount_column, a.orders_table,
			order_time_sql(format('o.%I', a.order_time_column), column_type(a.orders_table, a.order_time_column), a.time_zone),
			clock);
	END IF;

	IF a.customers_table IS NOT NULL THEN
		population := format(
			'SELECT c.%I AS customer_id%s, s.stats AS _segment_stats, s.stored_scores AS _segment_stored_scores,
		   s.stored_stage AS _segment_stored_stage, s.stored_valid AS _segment_stored_valid, %s AS _segment_stored_tags
	FROM %s c LEFT JOIN (%s) s ON s.customer_id = c.%I%s',
			a.customer_key, column_list('c', own),
			CASE WHEN a.tags_table IS NULL THEN format('NULL::%s.segment_set', ext) ELSE 'g.segments' END,
			a.customers_table, stats_source, a.customer_key,
			CASE WHEN a.tags_table IS NULL THEN ''
				 ELSE format(' LEFT JOIN %s g ON g.customer_id = c.%I', a.tags_table, a.customer_key) END);
	ELSE
		population := format('SELECT s.customer_id, s.stats AS _segment_stats, s.stored_scores AS _segment_stored_scores,
		   s.stored_stage AS _segment_stored_stage, s.stored_valid AS _segment_stored_valid,
		   NULL::%s.segment_set AS _segment_stored_tags FROM (%s) s', ext, stats_source);
	END IF;

	-- each rule once per customer; an attribute rule's segment is stored
	-- with the customer when the attachment has tags; a rule that names the
	-- customer's segments is judged over those of the map and of the other
	-- rules
	FOR seg IN SELECT s.segment, s.is_attribute, s.names_segments, r.expression
			   FROM attachment_segments(a.attachment_name) s
					JOIN segment_rules r ON r.attachment_name = a.attachment_name AND r.rule_name = s.segment
	LOOP
		PERFORM segment_rule_check(seg.expression);
		IF seg.is_attribute THEN
			rule_array := rule_array || format(', CASE WHEN customer._segment_stored_tags OPERATOR(%s.?) %L THEN %L END',
											   ext, seg.segment, seg.segment);
		ELSIF seg.names_segments THEN
			later_rule_array := later_rule_array || format(', CASE WHEN (%s
) THEN %L END', seg.expression, seg.segment);
		ELSE
			-- CASE WHEN takes booleans only, so a number is an error; the
			-- newline after an expression ends its trailing -- comment
			rule_array := rule_array || format(', CASE WHEN (%s
) THEN %L END', seg.expression, seg.segment);
		END IF;
	END LOOP;

	RETURN format($view$
SELECT customer.customer_id%7$s, customer.order_count, customer.total_amount, customer.average_order_value,
	   customer.population_average_order_value, customer.first_order_time, customer.last_order_time,
	   customer.recency_days, customer.recency_score, customer.frequency_score, customer.monetary_score,
	   customer.rfm_cell, customer.rfm, customer.segment,
	   customer.segments || array_remove(ARRAY[NULL::text%9$s], NULL) AS segments,
	   customer.lifecycle_stage
FROM (
	SELECT customer.*,
		   coalesce(customer._segment_rfm_segments, '{}') || array_remove(ARRAY[NULL::text%8$s], NULL) AS segments
	FROM (
	SELECT p.customer_id%5$s,
		   coalesce(%1$s.order_count(p._segment_stats), 0) AS order_count,
		   coalesce(%1$s.total_amount(p._segment_stats), 0) AS total_amount,
		   %1$s.total_amount(p._segment_stats) / %1$s.order_count(p._segment_stats) AS average_order_value,
		   p._segment_population_average AS population_average_order_value,
		   %1$s.first_order_time(p._segment_stats) AS first_order_time,
		   %1$s.last_order_time(p._segment_stats) AS last_order_time,
		   round(%1$s.recency_days(p._segment_stats, p._segment_judged_at)::numeric, 6) AS recency_days,
		   %1$s.recency_score(p._segment_scores) AS recency_score,
		   %1$s.frequency_score(p._segment_scores) AS frequency_score,
		   %1$s.monetary_score(p._segment_scores) AS monetary_score,
		   %1$s.rfm_cell(p._segment_scores) AS rfm_cell,
		   p._segment_scores::text AS rfm,
		   %1$s.segment_assign(p._segment_scores, %6$L) AS segment,
		   %1$s.segment_memberships(p._segment_scores, %6$L) AS _segment_rfm_segments,
		   CASE WHEN p._segment_stored_valid THEN p._segment_stored_stage
				ELSE %1$s.lifecycle_stage(p._segment_stats, p._segment_judged_at%10$s) END AS lifecycle_stage,
		   p._segment_stored_tags
	FROM (
		SELECT p.*, %3$s
		FROM (
			SELECT p.*, GREATEST(clock.as_of, %1$s.last_order_time(p._segment_stats)) AS _segment_judged_at
			FROM (%2$s) p, (SELECT %11$s AS as_of) clock
		) p%4$s
	) p
	) AS customer
) AS customer
$view$, ext, population, scoring, reference, column_list('p', own), a.map_name, column_list('customer', own), rule_array,
		later_rule_array, lifecycle_arguments, clock);
END
$function$;
COMMENT ON FUNCTION segment_internal.customers_view_query(@extschema@.attachments, boolean) IS
	'the query of an attachment''s customers view, or of the one its published customers view is made of';

-- The query of the published customers view: the customers view's rows
-- and columns, with the key's pseudonym in place of the key.  The secret is
-- read in the view, which runs with its owner's rights; pgcrypto's hmac()
-- takes it as an argument.
CREATE FUNCTION segment_internal.published_customers_view_query(a @extschema@.attachments) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	pgcrypto text := pgcrypto_schema();
BEGIN
	IF pgcrypto IS NULL THEN
		RAISE EXCEPTION 'the published views of attachment "%" need the extension pgcrypto', a.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'CREATE EXTENSION pgcrypto;';
	END IF;
	RETURN format($view$
SELECT pg_catalog.encode(%1$s.hmac(pg_catalog.convert_to(customer.customer_id::text, 'UTF8'), (SELECT s.secret FROM %2$s s),
								  'sha256'::text), 'hex')
		   AS customer_pseudonym%3$s%4$s
FROM (%5$s) AS customer
$view$, pgcrypto, a.pseudonym_secret_table, column_list('customer', exposed_customer_columns(a)),
		column_list('customer', ARRAY(SELECT c.column_name FROM customer_view_columns() c)),
		customers_view_query(a, published => true));
END
$function$;
COMMENT ON FUNCTION segment_internal.published_customers_view_query(@extschema@.attachments) IS
	'the query of an attachment''s published customers view: the customers view with a pseudonym for the key';

-- ", alias.column" for each column, quoted.
CREATE FUNCTION segment_internal.column_list(alias text, columns name[]) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT coalesce(pg_catalog.string_agg(pg_catalog.format(', %s.%I', alias, c), '' ORDER BY n), '')
		  FROM pg_catalog.unnest(columns) WITH ORDINALITY AS u(c, n) $$;
COMMENT ON FUNCTION segment_internal.column_list(text, name[]) IS
	'a list ", alias.column" of the columns, quoted, in their order';

-- The first column of a customers table that the customers view computes
-- itself (or customer_id, when the key has another name); NULL if none.
-- Shown or not: a rule may name any column of the table.
CREATE FUNCTION segment_internal.customers_column_clash(customers regclass, customer_key name) RETURNS name
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT att.attname FROM pg_attribute att
		  WHERE att.attrelid = customers AND att.attnum > 0 AND NOT att.attisdropped
			AND (att.attname IN (SELECT c.column_name FROM customer_view_columns() c)
				 OR (att.attname = 'customer_id' AND customer_key <> 'customer_id')
				 OR att.attname LIKE '\_segment\_%')
		  ORDER BY att.attnum LIMIT 1 $$;
COMMENT ON FUNCTION segment_internal.customers_column_clash(regclass, name) IS
	'the first column of a customers table whose name the customers view uses for a column of its own; NULL if none';

-- The columns of an attachment's customers table its views show, in the
-- table's order: those chosen (attachments.customer_columns), or all but
-- the key.  The views read no other column of the table, so that a role
-- granted SELECT on these and the key reads them.
CREATE FUNCTION segment_internal.exposed_customer_columns(a @extschema@.attachments) RETURNS name[]
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	gone name;
BEGIN
	IF a.customers_table IS NULL THEN
		RETURN '{}';
	END IF;
	SELECT c INTO gone FROM unnest(a.customer_columns) c WHERE column_type(a.customers_table, c) IS NULL LIMIT 1;
	IF gone IS NOT NULL THEN
		RAISE EXCEPTION 'column "%" of attachment "%" is gone from %', gone, a.attachment_name, a.customers_table
			USING ERRCODE = 'undefined_column',
				  HINT = 'Choose the columns the views show again with set_customer_columns().';
	END IF;
	RETURN ARRAY(SELECT att.attname FROM pg_attribute att
				 WHERE att.attrelid = a.customers_table AND att.attnum > 0 AND NOT att.attisdropped
				   AND att.attname <> a.customer_key
				   AND (a.customer_columns IS NULL OR att.attname = ANY (a.customer_columns))
				 ORDER BY att.attnum);
END
$function$;
COMMENT ON FUNCTION segment_internal.exposed_customer_columns(@extschema@.attachments) IS
	'the columns of an attachment''s customers table its views show, in the table''s order: those chosen, or all but the key';

-- The columns of the customers view but segments, as customer.<column>:
-- what a segment view shows of its members.  A rule is judged over these
-- columns in a segment view, so a segment view evaluates no other rule.
CREATE FUNCTION segment_internal.member_columns(customers_view regclass) RETURNS text
	LANGUAGE sql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT string_agg(pg_catalog.format('customer.%I', att.attname), ', ' ORDER BY att.attnum)
		  FROM pg_catalog.pg_attribute att
		  WHERE att.attrelid = customers_view AND att.attnum > 0 AND NOT att.attisdropped
			AND att.attname OPERATOR(pg_catalog.<>) 'segments' $$;
COMMENT ON FUNCTION segment_internal.member_columns(regclass) IS
	'the columns of a customers view a segment view shows, qualified by customer: all but segments';

-- The tables a rule reads in full to judge one customer: a sequential
-- scan in one of its subqueries filtered on the customer, for want of an
-- index to look the customer up; with the column compared, if it shows.
-- Judged on a plan for one customer, where no hash table pays, and with
-- sequential scans disabled, so that one stays only where no index serves.
CREATE FUNCTION segment_internal.rule_full_scans(customers_view regclass, expression text)
	RETURNS TABLE (relation text, column_name text)
	LANGUAGE plpgsql STRICT
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	SET standard_conforming_strings = on
	SET enable_seqscan = off
	AS $function$
DECLARE
	plan json;
BEGIN
	PERFORM segment_rule_check(expression);
	EXECUTE format('EXPLAIN (VERBOSE, FORMAT JSON) SELECT (%s
) FROM (SELECT %s, customer.segments FROM %s AS customer LIMIT 1) AS customer',
				   expression, member_columns(customers_view), customers_view) INTO plan;
	RETURN QUERY
	SELECT DISTINCT format('%I.%I', n ->> 'Schema', n ->> 'Relation Name'),
		   coalesce(substring(n ->> 'Filter' FROM '\m\w+\.(\w+) = customer\.'),
					substring(n ->> 'Filter' FROM 'customer\.\w+ = \w+\.(\w+)\M'))
	FROM jsonb_path_query(plan::jsonb,
						  'strict $.**? (@."Parent Relationship" == "SubPlan").**? (@."Node Type" == "Seq Scan")') n
	WHERE n ->> 'Filter' ~ '\mcustomer\.'
	ORDER BY 1, 2;
END
$function$;
COMMENT ON FUNCTION segment_internal.rule_full_scans(regclass, text) IS
	'the tables a rule''s subqueries read in full to judge one customer, for want of an index, with the column they compare with the customer';

-- The query of the view of one segment's members.
CREATE FUNCTION segment_internal.segment_view_query(a @extschema@.attachments, customers_view regclass,
													segment text, kind text, is_attribute boolean,
													names_segments boolean)
	RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	ext text := extension_schema();
	columns text := member_columns(customers_view);
	segment_literal text;
BEGIN
	IF is_attribute OR (kind = 'rfm' AND a.state_table IS NOT NULL) THEN
		-- only stored segments are sets; a rule's name may be too long for one
		segment_literal := format('%L::%s.segment_set', segment_set(ARRAY[segment])::text, ext);
	END IF;
	IF kind = 'rule' AND is_attribute THEN
		-- an attribute rule's members are exactly the customers tagged with
		-- it, each looked up in the customers view: OFFSET 0 keeps the
		-- lookup per member, where a join would derive every customer
		-- first; customer_id is the tags', so that a filter on it is a
		-- lookup in the tags too
		RETURN format($view$
SELECT g.customer_id, %1$s
FROM %2$s g
	 CROSS JOIN LATERAL (SELECT * FROM %3$s AS own WHERE own.customer_id = g.customer_id OFFSET 0) AS customer
WHERE g.segments OPERATOR(%4$s.@>) %5$s
$view$, regexp_replace(columns, '^customer\.customer_id, ', ''), a.tags_table, customers_view, ext, segment_literal);
	ELSIF kind = 'rule' AND names_segments THEN
		-- judged over the segments of the other rules: its members are those
		-- the customers view finds
		RETURN format($view$
SELECT %1$s FROM %2$s AS customer
WHERE %3$L = ANY (customer.segments)
$view$, columns, customers_view, segment);
	ELSIF kind = 'rule' THEN
		-- the row is named customer, as the rules know it: a rule's text is
		-- spliced as it is, never rewritten
		RETURN format($view$
SELECT %1$s FROM %2$s AS customer
WHERE (%3$s
) IS TRUE
$view$, columns, customers_view,
			(SELECT r.expression FROM segment_rules r
			 WHERE r.attachment_name = a.attachment_name AND r.rule_name = segment));
	END IF;
	-- with maintained state, an RFM segment's members are among the
	-- customers whose stored segments hold it (the GIN index) and those
	-- whose stored values do not hold at the analysis time (index ranges)
	RETURN format($view$
SELECT %1$s FROM %2$s AS customer
WHERE %3$L = ANY (%4$s.segment_memberships(customer.rfm::%4$s.rfm, %5$L))%6$s
$view$, columns, customers_view, segment, ext, a.map_name,
		CASE WHEN a.state_table IS NULL THEN '' ELSE format($candidates$
  AND customer.customer_id IN (
	SELECT s.customer_id FROM %1$s s
	WHERE s.segments OPERATOR(%2$s.@>) %3$s
	UNION ALL
	SELECT s.customer_id FROM %1$s s
	WHERE s.valid_until <= %2$s.segment_as_of() OR s.valid_from > %2$s.segment_as_of())$candidates$,
			a.state_table, ext, segment_literal) END);
END
$function$;
COMMENT ON FUNCTION segment_internal.segment_view_query(@extschema@.attachments, regclass, text, text, boolean, boolean) IS
	'the query of the view of one segment''s members; it judges that segment alone';

-- The query of the segment_members view: one row per membership.
CREATE FUNCTION segment_internal.segment_members_view_query(a @extschema@.attachments, customers_view regclass)
	RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
SELECT customer.customer_id, m.segment,
	   CASE WHEN m.segment = ANY (%2$L::text[]) THEN 'rfm' ELSE 'rule' END AS kind,
	   customer.order_count, customer.total_amount
FROM %1$s AS customer CROSS JOIN LATERAL unnest(customer.segments) AS m(segment)
$view$, customers_view,
		(SELECT coalesce(array_agg(s.segment), '{}') FROM attachment_segments(a.attachment_name) s WHERE s.kind = 'rfm')) $$;
COMMENT ON FUNCTION segment_internal.segment_members_view_query(@extschema@.attachments, regclass) IS
	'the query of an attachment''s segment_members view';

-- The query of the segment_summary view, one row per segment and one for
-- the customers without a primary segment: primary_* count each customer
-- once, in its primary segment (their shares add up to 1 over the map's
-- segments and that row); member_* count every customer a segment holds
-- (they overlap: a customer in several segments counts in each).
CREATE FUNCTION segment_internal.segment_summary_view_query(a @extschema@.attachments, customers_view regclass)
	RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
WITH customer AS NOT MATERIALIZED (
	SELECT customer.segment, customer.segments, customer.order_count, customer.total_amount
	FROM %1$s AS customer
), membership AS (
	SELECT m.segment, count(*) AS customers, sum(customer.order_count) AS orders, sum(customer.total_amount) AS revenue
	FROM customer CROSS JOIN LATERAL unnest(customer.segments) AS m(segment)
	GROUP BY m.segment
), primary_segment AS (
	SELECT customer.segment, count(*) AS customers, sum(customer.order_count) AS orders,
		   sum(customer.total_amount) AS revenue
	FROM customer GROUP BY customer.segment
), segment_list AS (
	SELECT s.segment, s.kind, s.position
	FROM unnest(%2$L::text[], %3$L::text[]) WITH ORDINALITY AS s(segment, kind, position)
	UNION ALL
	SELECT NULL, 'unsegmented', 2147483647
), everyone AS (
	SELECT count(*) AS customers FROM customer
), cell AS (
	SELECT l.segment, l.kind, l.position, e.customers AS everyone,
		   coalesce(p.customers, 0) AS primary_customers, p.orders AS primary_orders, p.revenue AS primary_revenue,
		   coalesce(m.customers, 0) AS member_customers, m.orders AS member_orders, m.revenue AS member_revenue,
		   -- the rows that are not rules partition the customers
		   row_number() OVER (PARTITION BY l.kind = 'rule' ORDER BY l.position) AS partition_position
	FROM segment_list l CROSS JOIN everyone e
		 LEFT JOIN membership m ON m.segment = l.segment
		 LEFT JOIN primary_segment p ON p.segment IS NOT DISTINCT FROM l.segment AND l.kind <> 'rule'
), judged AS (
	SELECT c.*,
		   c.kind = 'rule' OR h.hidden[c.partition_position] AS primary_hidden,
		   -- a segment's members less its primary customers are a group too
		   c.kind = 'unsegmented' OR segment_internal.shown_count(c.member_customers, %4$s) IS NULL
		   OR (c.kind = 'rfm' AND (h.hidden[c.partition_position]
								   OR segment_internal.shown_count(c.member_customers - c.primary_customers, %4$s) IS NULL))
			   AS member_hidden
	FROM cell c,
		 (SELECT segment_internal.hidden_groups(array_agg(c.primary_customers ORDER BY c.position), %4$s) AS hidden
		  FROM cell c WHERE c.kind <> 'rule') h
)
SELECT j.segment, j.kind,
	   CASE WHEN NOT j.primary_hidden THEN j.primary_customers::integer END AS primary_customers,
	   CASE WHEN NOT j.primary_hidden THEN j.primary_customers::numeric / nullif(j.everyone, 0) END AS primary_share,
	   CASE WHEN NOT j.primary_hidden THEN coalesce(j.primary_orders, 0)::numeric END AS primary_orders,
	   CASE WHEN NOT j.primary_hidden THEN coalesce(j.primary_revenue, 0) END AS primary_revenue,
	   CASE WHEN NOT j.member_hidden THEN j.member_customers::integer END AS member_customers,
	   CASE WHEN NOT j.member_hidden THEN j.member_customers::numeric / nullif(j.everyone, 0) END AS member_share,
	   CASE WHEN NOT j.member_hidden THEN coalesce(j.member_orders, 0)::numeric END AS member_orders,
	   CASE WHEN NOT j.member_hidden THEN coalesce(j.member_revenue, 0) END AS member_revenue,
	   round(CASE WHEN j.kind <> 'unsegmented' AND NOT j.member_hidden THEN j.member_revenue / nullif(j.member_orders, 0)
				  WHEN j.kind = 'unsegmented' AND NOT j.primary_hidden THEN j.primary_revenue / nullif(j.primary_orders, 0) END,
			 2) AS average_order_value
FROM judged j
ORDER BY j.position
$view$, customers_view, l.segments, l.kinds, coalesce(a.minimum_group_size::text, 'NULL::integer'))
		  FROM (SELECT coalesce(array_agg(s.segment), '{}') AS segments, coalesce(array_agg(s.kind), '{}') AS kinds
				FROM attachment_segments(a.attachment_name) s) l $$;
COMMENT ON FUNCTION segment_internal.segment_summary_view_query(@extschema@.attachments, regclass) IS
	'the query of an attachment''s segment_summary view';

CREATE FUNCTION segment_internal.lifecycle_summary_view_query(a @extschema@.attachments, customers_view regclass)
	RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
WITH customer AS NOT MATERIALIZED (
	SELECT customer.lifecycle_stage, customer.order_count, customer.total_amount FROM %1$s AS customer
), stage AS (
	SELECT s.stage, s.position, count(c.lifecycle_stage) AS customers, sum(c.order_count) AS orders,
		   sum(c.total_amount) AS revenue
	FROM %2$s.lifecycle_stages() s LEFT JOIN customer c ON c.lifecycle_stage = s.stage
	GROUP BY s.stage, s.position
), judged AS (
	-- the stages partition the customers
	SELECT st.*, h.hidden[row_number() OVER (ORDER BY st.position)] AS hidden
	FROM stage st,
		 (SELECT segment_internal.hidden_groups(array_agg(st.customers ORDER BY st.position), %3$s) AS hidden
		  FROM stage st) h
)
SELECT j.stage AS lifecycle_stage,
	   CASE WHEN NOT j.hidden THEN j.customers::integer END AS customers,
	   CASE WHEN NOT j.hidden THEN round(j.customers::numeric / nullif((SELECT count(*) FROM customer), 0), 4) END
		   AS share_of_customers,
	   CASE WHEN NOT j.hidden THEN coalesce(j.orders, 0)::numeric END AS orders,
	   CASE WHEN NOT j.hidden THEN coalesce(j.revenue, 0) END AS revenue,
	   CASE WHEN NOT j.hidden THEN round(j.revenue / nullif(j.orders, 0), 2) END AS average_order_value
FROM judged j
ORDER BY j.position
$view$, customers_view, extension_schema(), coalesce(a.minimum_group_size::text, 'NULL::integer')) $$;
COMMENT ON FUNCTION segment_internal.lifecycle_summary_view_query(@extschema@.attachments, regclass) IS
	'the query of an attachment''s lifecycle_summary view';

CREATE FUNCTION segment_internal.rf_grid_view_query(a @extschema@.attachments, customers_view regclass) RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
WITH cell AS (
	SELECT r.score AS recency_score, f.score AS frequency_score,
		   count(c.rfm_cell) AS customers, avg(c.total_amount) AS average_total_amount
	FROM generate_series(1, %2$s) r(score)
		 CROSS JOIN generate_series(1, %2$s) f(score)
		 LEFT JOIN %1$s c ON c.recency_score = r.score AND c.frequency_score = f.score
	GROUP BY r.score, f.score
), judged AS (
	-- the cells partition the customers with orders
	SELECT c.*, h.hidden[row_number() OVER (ORDER BY c.recency_score, c.frequency_score)] AS hidden
	FROM cell c,
		 (SELECT segment_internal.hidden_groups(array_agg(c.customers ORDER BY c.recency_score, c.frequency_score), %3$s)
				 AS hidden
		  FROM cell c) h
)
SELECT j.recency_score, j.frequency_score,
	   CASE WHEN NOT j.hidden THEN j.customers::integer END AS customers,
	   CASE WHEN NOT j.hidden THEN round(j.average_total_amount, 2) END AS average_total_amount
FROM judged j
ORDER BY j.recency_score, j.frequency_score
$view$, customers_view, a.bins, coalesce(a.minimum_group_size::text, 'NULL::integer')) $$;
COMMENT ON FUNCTION segment_internal.rf_grid_view_query(@extschema@.attachments, regclass) IS
	'the query of an attachment''s rf_grid view';

-- The query of the segment_sizes view of an attachment with history: per
-- segment and day (in the attachment's time zone) from the day its history
-- covers (history_since) to the day of the analysis time, the members at
-- the end of the day and how many entered and left that day.  The members
-- are those before the first day (intervals pruning kept because they had
-- not ended then) plus the running sum of entries less departures.
CREATE FUNCTION segment_internal.segment_sizes_view_query(a @extschema@.attachments, published boolean DEFAULT false)
	RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT format($view$
WITH attachment AS (
	SELECT (%6$s AT TIME ZONE %2$L)::date AS first_day,
		   (%7$s AT TIME ZONE %2$L)::date AS last_day
), moves AS (
	SELECT h.kind, h.segment, (h.entered_at AT TIME ZONE %2$L)::date AS day, 1 AS entered, 0 AS departed
	FROM %1$s h
	UNION ALL
	SELECT h.kind, h.segment, (h.left_at AT TIME ZONE %2$L)::date, 0, 1
	FROM %1$s h WHERE h.left_at IS NOT NULL
), daily AS (
	SELECT m.kind, m.segment, m.day, sum(m.entered)::bigint AS entered, sum(m.departed)::bigint AS departed
	FROM moves m GROUP BY m.kind, m.segment, m.day
), before AS (
	-- the members when the history's first day begins
	SELECT d.kind, d.segment, sum(d.entered - d.departed)::bigint AS members
	FROM daily d, attachment t WHERE d.day < t.first_day GROUP BY d.kind, d.segment
), grid AS (
	SELECT s.kind, s.segment, d.day::date AS day
	FROM (SELECT DISTINCT d.kind, d.segment FROM daily d) s,
		 attachment t, generate_series(t.first_day, greatest(t.first_day, t.last_day), '1 day') d(day)
), sizes AS (
	SELECT g.segment, g.kind, g.day,
		   coalesce(b.members, 0) + (sum(coalesce(d.entered, 0) - coalesce(d.departed, 0))
			   OVER (PARTITION BY g.kind, g.segment ORDER BY g.day))::bigint AS members,
		   coalesce(d.entered, 0) AS entered, coalesce(d.departed, 0) AS departed
	FROM grid g LEFT JOIN daily d ON d.kind = g.kind AND d.segment = g.segment AND d.day = g.day
		 LEFT JOIN before b ON b.kind = g.kind AND b.segment = g.segment
)
SELECT s.segment, s.kind, s.day, segment_internal.shown_count(s.members, %5$s) AS members,
	   segment_internal.shown_count(s.entered, %5$s) AS entered,
	   segment_internal.shown_count(s.departed, %5$s) AS "left"
FROM sizes s
$view$, a.history_table, a.time_zone, segment_internal.extension_schema(), a.attachment_name,
		coalesce(a.minimum_group_size::text, 'NULL::integer'),
		-- a published view is built again when the history's start moves
		CASE WHEN published THEN format('%L::pg_catalog.timestamptz', a.history_since)
			 ELSE format('(SELECT t.history_since FROM %s.attachments t WHERE t.attachment_name = %L)',
						 segment_internal.extension_schema(), a.attachment_name) END,
		segment_internal.analysis_time_sql(published)) $$;
COMMENT ON FUNCTION segment_internal.segment_sizes_view_query(@extschema@.attachments, boolean) IS
	'the query of the segment_sizes view of an attachment with history: members at the end of each day, entered and left, per segment';


-- The query of the campaign_performance view of an attachment with
-- campaigns: per campaign and segment the recipients were in when it was
-- sent (from the history: the first message of a campaign to a customer
-- counts), the rates and the revenue of the recipients' orders within the
-- attribution window after the send.
CREATE FUNCTION segment_internal.campaign_performance_view_query(a @extschema@.attachments) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	c name[] := a.campaign_columns;
	time_of text[];
	conversions text;
BEGIN
	-- the event times as instants, NULL where the data has none
	SELECT array_agg(CASE WHEN x.name IS NULL THEN 'NULL::pg_catalog.timestamptz'
						  ELSE order_time_sql(format('e.%I', x.name), column_type(a.campaigns_table, x.name), a.time_zone) END
					 ORDER BY x.n)
	INTO time_of
	FROM unnest(c[3:6]) WITH ORDINALITY x(name, n);
	conversions := CASE WHEN c[6] IS NULL THEN 'r.orders > 0'
						ELSE 'r.converted_at >= r.sent_at AND r.converted_at < r.window_end' END;
	RETURN format($view$
WITH recipients AS (
	SELECT e.%1$I AS customer_id, e.%2$I AS campaign, min(%3$s) AS sent_at, min(%4$s) AS opened_at,
		   min(%5$s) AS clicked_at, min(%6$s) AS converted_at
	FROM %7$s e
	WHERE e.%1$I IS NOT NULL AND e.%2$I IS NOT NULL AND %3$s IS NOT NULL
	GROUP BY 1, 2
), windows AS (
	-- the window's end in the attachment's time zone, whoever reads
	SELECT r.*, pg_catalog.timezone(%15$L, pg_catalog.timezone(%15$L, r.sent_at) + %12$L::interval) AS window_end
	FROM recipients r
), responses AS (
	SELECT r.*, o.orders, o.revenue
	FROM windows r,
		 LATERAL (SELECT count(*) AS orders, coalesce(sum((o.%10$I)::numeric), 0) AS revenue
				  FROM %8$s o
				  WHERE o.%9$I = r.customer_id AND %11$s >= r.sent_at AND %11$s < r.window_end) o
), judged AS (
	SELECT r.*, h.kind, h.segment, %13$s AS converted
	FROM responses r
		 LEFT JOIN %14$s h ON h.customer_id = r.customer_id AND h.entered_at <= r.sent_at
							  AND (h.left_at IS NULL OR h.left_at > r.sent_at)
), counted AS (
	SELECT j.campaign, j.kind, j.segment, count(*) AS recipients,
		   count(*) FILTER (WHERE j.opened_at IS NOT NULL) AS opens,
		   count(*) FILTER (WHERE j.clicked_at IS NOT NULL) AS clicks,
		   count(*) FILTER (WHERE j.converted) AS conversions,
		   count(*) FILTER (WHERE j.orders > 0) AS buyers, sum(j.orders) AS orders, sum(j.revenue) AS revenue
	FROM judged j
	GROUP BY j.campaign, j.kind, j.segment
), shown AS (
	-- a row of too few recipients shows nothing; each count of the others
	-- only if it counts none or enough of them, the amounts only if enough
	-- of them ordered
	SELECT c.campaign, c.kind, c.segment, r.recipients,
		   CASE WHEN r.recipients IS NOT NULL THEN segment_internal.shown_count(c.opens, %16$s) END AS opens,
		   CASE WHEN r.recipients IS NOT NULL THEN segment_internal.shown_count(c.clicks, %16$s) END AS clicks,
		   CASE WHEN r.recipients IS NOT NULL THEN segment_internal.shown_count(c.conversions, %16$s) END AS conversions,
		   r.recipients IS NOT NULL AND segment_internal.shown_count(c.buyers, %16$s) IS NOT NULL AS amounts_shown,
		   c.orders, c.revenue
	FROM counted c CROSS JOIN LATERAL (SELECT segment_internal.shown_count(c.recipients, %16$s) AS recipients) r
)
SELECT (c.campaign)::text AS campaign, c.segment, c.kind, c.recipients,
	   c.opens AS unique_opens, c.opens::numeric / c.recipients AS open_rate,
	   c.clicks AS unique_clicks, c.clicks::numeric / c.recipients AS click_rate,
	   c.clicks::numeric / nullif(c.opens, 0) AS click_to_open_rate,
	   c.conversions, c.conversions::numeric / c.recipients AS conversion_rate,
	   CASE WHEN c.amounts_shown THEN c.orders END AS orders, CASE WHEN c.amounts_shown THEN c.revenue END AS revenue,
	   CASE WHEN c.amounts_shown THEN c.revenue / nullif(c.orders, 0) END AS average_order_value,
	   CASE WHEN c.amounts_shown THEN c.revenue / c.recipients END AS revenue_per_recipient
FROM shown c
$view$, c[1], c[2], time_of[1], time_of[2], time_of[3], time_of[4], a.campaigns_table,
		a.orders_table, a.customer_column, a.amount_column,
		order_time_sql(format('o.%I', a.order_time_column), column_type(a.orders_table, a.order_time_column), a.time_zone),
		a.attribution_window, conversions, a.history_table, a.time_zone,
		coalesce(a.minimum_group_size::text, 'NULL::integer'));
END
$function$;
COMMENT ON FUNCTION segment_internal.campaign_performance_view_query(@extschema@.attachments) IS
	'the query of the campaign_performance view of an attachment with campaigns: recipients, opens, clicks, conversions and revenue per campaign and the segments its recipients were in when it was sent';


-- A name cut to the 63 bytes PostgreSQL keeps of a name, on a character
-- boundary, so that the name compared is the name created.
CREATE FUNCTION segment_internal.clip_name(name text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT pg_catalog.left(name, pg_catalog.max(n)) FROM pg_catalog.generate_series(0, 63) n
		  WHERE pg_catalog.octet_length(pg_catalog.left(name, n)) OPERATOR(pg_catalog.<=) 63 $$;
COMMENT ON FUNCTION segment_internal.clip_name(text) IS
	'a name cut to at most 63 bytes, as PostgreSQL keeps it, without splitting a character';

-- Whether a view named in attachments.views is the attachment's own: a
-- view owned by a role with the rights of the orders table's owner, who
-- alone may change the attachment (any listed view once the orders table is
-- gone).  A view of the same name that another role created meanwhile is
-- neither replaced nor dropped.
CREATE FUNCTION segment_internal.is_attachment_view(a @extschema@.attachments, qualified text) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $$ SELECT coalesce((SELECT v.relkind = 'v' AND qualified = ANY (a.views)
								  AND pg_has_role(v.relowner, coalesce(o.relowner, v.relowner), 'USAGE')
						   FROM pg_class v LEFT JOIN pg_class o ON o.oid = a.orders_table
						   WHERE v.oid = to_regclass(qualified)), false) $$;
COMMENT ON FUNCTION segment_internal.is_attachment_view(@extschema@.attachments, text) IS
	'whether a view is one the attachment built: listed in its views and owned by a role with the rights of the orders table''s owner';

-- Creates one view of an attachment, or replaces in place the one of the
-- same name it built before (in_place), so that views of users built on it
-- and its grants stay.  A view runs with the rights of its reader, but a
-- published one (publish_views()): that one runs with its owner's, for
-- roles the owner grants it to who may not read the tables.  Returns the
-- view's qualified name.
CREATE FUNCTION segment_internal.put_attachment_view(a @extschema@.attachments, view_name text, query text,
												view_comment text, in_place boolean, published boolean DEFAULT false)
	RETURNS text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	qualified text := format('%I.%I', a.view_schema, view_name);
	problem text;
BEGIN
	BEGIN
		EXECUTE format('CREATE %sVIEW %s%s AS %s',
					   CASE WHEN in_place AND is_attachment_view(a, qualified) THEN 'OR REPLACE ' ELSE '' END, qualified,
					   CASE WHEN published THEN ' WITH (security_barrier = true)'
							WHEN current_setting('server_version_num')::int >= 150000
							THEN ' WITH (security_invoker = true)' ELSE '' END, query);
	EXCEPTION WHEN undefined_column THEN
		-- a rule over a column the views do not show, once judged where the
		-- tags were stored
		IF a.customer_columns IS NULL THEN
			RAISE;
		END IF;
		GET STACKED DIAGNOSTICS problem = MESSAGE_TEXT;
		RAISE EXCEPTION 'view % of attachment "%" cannot be built: %', qualified, a.attachment_name, problem
			USING ERRCODE = 'undefined_column',
				  HINT = 'The views show only the customer columns chosen; a rule over another column needs stored tags. Drop the rule, or choose the column with set_customer_columns().';
	END;
	EXECUTE format('COMMENT ON VIEW %s IS %L', qualified, view_comment);
	RETURN qualified;
END
$function$;
COMMENT ON FUNCTION segment_internal.put_attachment_view(@extschema@.attachments, text, text, text, boolean, boolean) IS
	'creates a view of an attachment, or replaces in place the one of the same name it built before; a published one runs with its owner''s rights';

-- Drops views an attachment built, dependents first; a view of a user on
-- one of them stops it with a hint.  A view of the same name that is not
-- the attachment's own is left alone.
CREATE FUNCTION segment_internal.drop_attachment_views(a @extschema@.attachments, views text[]) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	problem text;
	problem_detail text;
BEGIN
	FOR i IN REVERSE coalesce(array_upper(views, 1), 0) .. 1 LOOP
		CONTINUE WHEN NOT is_attachment_view(a, views[i]);
		BEGIN
			EXECUTE format('DROP VIEW %s', views[i]);
		EXCEPTION WHEN dependent_objects_still_exist THEN
			GET STACKED DIAGNOSTICS problem = MESSAGE_TEXT, problem_detail = PG_EXCEPTION_DETAIL;
			RAISE EXCEPTION 'a view of attachment "%" must be dropped: %', a.attachment_name, problem
				USING ERRCODE = 'dependent_objects_still_exist', DETAIL = problem_detail,
					  HINT = 'A view whose columns change, or whose segment is gone, is dropped (and built again); drop the views that use it first, and create them again after.';
		END;
	END LOOP;
END
$function$;
COMMENT ON FUNCTION segment_internal.drop_attachment_views(@extschema@.attachments, text[]) IS
	'drops views an attachment built, dependents first; views of users on them stop it';

-- Builds the views of an attachment: the customers view and the views
-- over it.  Views it built before are replaced in place while their
-- columns stay (so views of users on them stay); otherwise all are dropped
-- and created again, with their owners and the grants others had on them
-- and their columns.  Returns the views' names.
CREATE FUNCTION segment_internal.build_attachment_views(attachment_name text) RETURNS SETOF text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	-- the rules' text is read as segment_rule_check() read it
	SET standard_conforming_strings = on
	AS $function$
DECLARE
	a attachments;
	built text[];
	granted record;
	grants_kept text[] := '{}';
	grant_views text[] := '{}';
BEGIN
	SELECT * INTO a FROM attachments t WHERE t.attachment_name = build_attachment_views.attachment_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'attachment "%" does not exist', build_attachment_views.attachment_name
			USING ERRCODE = 'undefined_object', HINT = 'Create it with attach().';
	END IF;
	IF current_setting('server_version_num')::int < 150000 THEN
		RAISE WARNING 'views of attachment "%" run with the rights of their owner', a.attachment_name
			USING DETAIL = 'security_invoker views need PostgreSQL 15.';
	END IF;
	BEGIN
		built := put_attachment_views(a, in_place => true);
	EXCEPTION WHEN invalid_table_definition THEN
		-- a view's columns changed (those of the customers table did, say):
		-- drop them all and build them anew, keeping their owners (where the
		-- caller may give a view to them) and what others were granted on
		-- them and on their columns
		FOR granted IN
			SELECT v.name, format('ALTER VIEW %s OWNER TO %I', v.name, pg_get_userbyid(c.relowner)) AS statement,
				   0 AS step
			FROM unnest(a.views) v(name) JOIN pg_class c ON c.oid = to_regclass(v.name)
			WHERE c.relowner <> (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user)
			  AND pg_has_role(c.relowner, 'MEMBER')
			UNION ALL
			-- on the view and on each of its columns
			SELECT v.name, format('GRANT %s%s ON %s TO %s%s', g.privilege_type,
								  CASE WHEN acl.column_name IS NULL THEN '' ELSE format(' (%I)', acl.column_name) END, v.name,
								  CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END,
								  CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END), 1
			FROM unnest(a.views) v(name)
				 JOIN pg_class c ON c.oid = to_regclass(v.name)
				 CROSS JOIN LATERAL (SELECT NULL::name, c.relacl
									 UNION ALL
									 SELECT att.attname, att.attacl FROM pg_attribute att
									 WHERE att.attrelid = c.oid AND att.attnum > 0 AND att.attacl IS NOT NULL)
					 AS acl(column_name, acl)
				 CROSS JOIN LATERAL aclexplode(acl.acl) g
			WHERE g.grantee <> c.relowner
			ORDER BY 3, 1, 2
		LOOP
			grant_views := grant_views || granted.name;
			grants_kept := grants_kept || granted.statement;
		END LOOP;
		PERFORM drop_attachment_views(a, a.views);
		built := put_attachment_views(a, in_place => false);
		FOR i IN 1 .. coalesce(array_upper(grants_kept, 1), 0) LOOP
			-- a column the view no longer has keeps no grant
			IF grant_views[i] = ANY (built) THEN
				BEGIN
					EXECUTE grants_kept[i];
				EXCEPTION WHEN undefined_column THEN
					NULL;
				END;
			END IF;
		END LOOP;
	END;
	-- the views of segments that are gone
	PERFORM drop_attachment_views(a, ARRAY(SELECT v FROM unnest(a.views) v WHERE v <> ALL (built)));
	UPDATE attachments t SET views = built WHERE t.attachment_name = a.attachment_name;
	RETURN QUERY SELECT unnest(built);
END
$function$;
COMMENT ON FUNCTION segment_internal.build_attachment_views(text) IS
	'creates the views of an attachment from its configuration, or replaces those it built before';

-- Creates the report views of an attachment over a customers view (or
-- replaces those it built before, in_place): the summaries, the heatmap,
-- and with history the segment sizes and campaign performance, named
-- <attachment>_<infix><report>.  Returns their names, in the order created.
CREATE FUNCTION segment_internal.put_attachment_reports(a @extschema@.attachments, customers regclass, infix text,
														in_place boolean, published boolean)
	RETURNS text[]
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	prefix text := a.attachment_name || '_';
	-- said in each view's comment
	hiding text := CASE WHEN a.minimum_group_size IS NOT NULL
						THEN format('; a number of fewer than %s customers is NULL', a.minimum_group_size) ELSE '' END;
	view_name text;
	built text[] := '{}';
BEGIN
	view_name := put_attachment_view(a, prefix || infix || 'segment_summary', segment_summary_view_query(a, customers),
		format('customers, orders and revenue of every segment: primary_* count each customer once, in its primary segment; member_* every customer a segment holds (segment attachment %s)%s',
			   a.attachment_name, hiding), in_place, published);
	built := built || view_name;
	PERFORM comment_relation(view_name, NULL,
		'segment', 'segment name; NULL for the customers without a primary segment',
		'kind', 'rfm for a segment of the map, rule for a rule segment, unsegmented for the customers without a primary segment',
		'primary_customers', 'customers whose primary segment this is (the first of the map that holds them); each customer counts in one row; NULL for a rule segment',
		'primary_share', 'primary_customers over all customers, 0 to 1; adds up to 1 over the rows that have it',
		'primary_orders', 'orders of the customers whose primary segment this is',
		'primary_revenue', 'total amount of the customers whose primary segment this is',
		'member_customers', 'customers the segment holds; a customer in several segments counts in each (they overlap); NULL for the unsegmented row',
		'member_share', 'member_customers over all customers, 0 to 1; overlapping, so these add up to more than 1',
		'member_orders', 'orders of the customers the segment holds',
		'member_revenue', 'total amount of the customers the segment holds',
		'average_order_value', 'revenue over orders of the customers the segment holds (of the unsegmented row: of its customers)');

	view_name := put_attachment_view(a, prefix || infix || 'lifecycle_summary', lifecycle_summary_view_query(a, customers),
		format('customers, orders and revenue of every lifecycle stage (segment attachment %s)%s', a.attachment_name, hiding),
		in_place, published);
	built := built || view_name;
	PERFORM comment_relation(view_name, NULL,
		'lifecycle_stage', 'lifecycle stage',
		'customers', 'customers in the stage',
		'share_of_customers', 'customers in the stage over all customers, 0 to 1',
		'orders', 'orders of the customers in the stage',
		'revenue', 'total amount of the customers in the stage',
		'average_order_value', 'revenue over orders');

	view_name := put_attachment_view(a, prefix || infix || 'rf_grid', rf_grid_view_query(a, customers),
		format('customers and mean monetary value per recency and frequency score, for a heatmap (segment attachment %s)%s',
			   a.attachment_name, hiding), in_place, published);
	built := built || view_name;
	PERFORM comment_relation(view_name, NULL,
		'recency_score', 'R score',
		'frequency_score', 'F score',
		'customers', 'customers in the cell',
		'average_total_amount', 'mean total amount of the customers in the cell');

	IF a.history_table IS NOT NULL AND relation_exists(a.history_table) THEN
		view_name := put_attachment_view(a, prefix || infix || 'segment_sizes', segment_sizes_view_query(a, published),
			format('members at the end of each day, entered and left, of every segment, from the history (segment attachment %s)%s',
				   a.attachment_name, hiding), in_place, published);
		built := built || view_name;
		PERFORM comment_relation(view_name, NULL,
			'segment', 'segment name (a lifecycle stage''s name for kind lifecycle)',
			'kind', 'rfm for a segment of the map, lifecycle for a lifecycle stage, rule for a rule segment',
			'day', format('the day, in time zone %s', a.time_zone),
			'members', 'customers in the segment at the end of the day',
			'entered', 'customers who entered the segment that day',
			'left', 'customers who left the segment that day');
	END IF;

	IF a.campaigns_table IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(a.campaign_columns) c
												 WHERE c IS NOT NULL AND column_type(a.campaigns_table, c) IS NULL) THEN
		IF NOT published THEN
			RAISE WARNING 'view %campaign_performance of attachment "%" is not built', prefix, a.attachment_name
				USING DETAIL = format('A column it reads is gone from %s.', a.campaigns_table),
					  HINT = 'Call attach_campaigns() again with the columns as they are now.';
		END IF;
	ELSIF a.campaigns_table IS NOT NULL AND relation_exists(a.campaigns_table)
	   AND a.history_table IS NOT NULL AND relation_exists(a.history_table) THEN
		view_name := put_attachment_view(a, prefix || infix || 'campaign_performance', campaign_performance_view_query(a),
			format('per campaign and segment its recipients were in when it was sent: recipients, opens, clicks, conversions within %s and revenue (segment attachment %s)%s',
				   a.attribution_window, a.attachment_name, hiding), in_place, published);
		built := built || view_name;
		PERFORM comment_relation(view_name, NULL,
			'campaign', 'the campaign',
			'segment', 'a segment the recipients were in when the campaign was sent to them; NULL for the recipients in none then',
			'kind', 'rfm, lifecycle or rule',
			'recipients', 'customers the campaign was sent to (the first message to each counts)',
			'unique_opens', 'recipients who opened it',
			'open_rate', 'unique_opens over recipients',
			'unique_clicks', 'recipients who clicked in it',
			'click_rate', 'unique_clicks over recipients',
			'click_to_open_rate', 'unique_clicks over unique_opens',
			'conversions', format('recipients who converted within %s of the send (the events'' conversion time, or else an order)', a.attribution_window),
			'conversion_rate', 'conversions over recipients',
			'orders', format('orders of the recipients within %s of the send', a.attribution_window),
			'revenue', format('total amount of those orders'),
			'average_order_value', 'revenue over orders',
			'revenue_per_recipient', 'revenue over recipients');
	END IF;

	RETURN built;
END
$function$;
COMMENT ON FUNCTION segment_internal.put_attachment_reports(@extschema@.attachments, regclass, text, boolean, boolean) IS
	'creates the summary, heatmap, segment sizes and campaign performance views of an attachment over a customers view, or replaces those it built before';

-- Creates every view of an attachment (or replaces those it built before,
-- in_place) and comments them and their columns.  Returns their names, in
-- the order created.
CREATE FUNCTION segment_internal.put_attachment_views(a @extschema@.attachments, in_place boolean) RETURNS text[]
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	prefix text := a.attachment_name || '_';
	customers regclass;
	view_name text;
	built text[] := '{}';
	col record;
	seg record;
BEGIN
	view_name := put_attachment_view(a, prefix || 'customers', customers_view_query(a),
		format('one row per customer of %s with RFM scores, segments and lifecycle stage (segment attachment %s)',
			   a.orders_table, a.attachment_name), in_place);
	customers := view_name::regclass;
	built := built || view_name;
	EXECUTE format('COMMENT ON COLUMN %s.customer_id IS %L', view_name, 'the customer''s key');
	FOR col IN SELECT * FROM customer_view_columns() LOOP
		EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, col.column_name, col.description);
	END LOOP;
	FOR col IN SELECT c AS attname FROM unnest(exposed_customer_columns(a)) c LOOP
		EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, col.attname, format('from %s', a.customers_table));
	END LOOP;

	view_name := put_attachment_view(a, prefix || 'segment_members', segment_members_view_query(a, customers),
		format('one row per segment membership of a customer (segment attachment %s)', a.attachment_name), in_place);
	built := built || view_name;
	PERFORM comment_relation(view_name, NULL,
		'customer_id', 'the customer''s key',
		'segment', 'a segment the customer belongs to',
		'kind', 'rfm for a segment of the map, rule for a rule segment',
		'order_count', 'the customer''s number of orders',
		'total_amount', 'the customer''s total amount');

	built := built || put_attachment_reports(a, customers, '', in_place, published => false);

	IF a.bgnbd IS NOT NULL THEN
		view_name := put_attachment_view(a, prefix || 'predictions', predictions_view_query(a, customers),
			format('what the BG/NBD and Gamma-Gamma models fitted by fit_customer_models() say of each customer with orders (segment attachment %s)',
				   a.attachment_name), in_place);
		built := built || view_name;
		PERFORM comment_relation(view_name, NULL,
			'customer_id', 'the customer''s key',
			'frequency', 'repeat purchases: orders after the first',
			'recency', format('time from the first to the last order, in units of %s', a.model_unit),
			'age', format('time from the first order to the analysis time, in units of %s', a.model_unit),
			'p_alive', 'probability that the customer is still active',
			'expected_purchases_90d', 'purchases expected in the next 90 days',
			'expected_spend', 'expected value of a purchase',
			'lifetime_value', 'expected spend over the next 12 months of 30 days, discounted 1% a month',
			'predicted_segment', 'High value, active; High value, likely to churn; Active; or Likely to churn');
	END IF;

	-- one view per segment, named after it
	FOR seg IN SELECT * FROM attachment_segments(a.attachment_name) LOOP
		IF segment_slug(seg.segment) = '' THEN
			RAISE EXCEPTION 'segment "%" has no letters or digits to name its view', seg.segment
				USING ERRCODE = 'invalid_name';
		END IF;
		view_name := format('%I.%I', a.view_schema, clip_name(prefix || 'segment_' || segment_slug(seg.segment)));
		IF view_name = ANY (built) THEN
			RAISE EXCEPTION 'two segments of attachment "%" would share the view %', a.attachment_name, view_name
				USING ERRCODE = 'duplicate_object', HINT = 'Rename one of the segments.';
		END IF;
		view_name := put_attachment_view(a, clip_name(prefix || 'segment_' || segment_slug(seg.segment)),
			segment_view_query(a, customers, seg.segment, seg.kind, seg.is_attribute, seg.names_segments),
			format('customers in the %s segment %s (segment attachment %s)', seg.kind, seg.segment, a.attachment_name),
			in_place);
		built := built || view_name;
		FOR col IN
			SELECT att.attname, d.description FROM pg_attribute att
			JOIN pg_description d ON d.objoid = att.attrelid AND d.objsubid = att.attnum
			WHERE att.attrelid = customers AND att.attname <> 'segments'
		LOOP
			EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, col.attname, col.description);
		END LOOP;
	END LOOP;

	-- the views a role may be granted that may not read the tables
	IF a.pseudonym_secret_table IS NOT NULL THEN
		IF pseudonym_secret_obstacle(a) IS NOT NULL THEN
			RAISE EXCEPTION 'cannot build the published views of attachment "%"', a.attachment_name
				USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = pseudonym_secret_obstacle(a),
					  HINT = 'publish_views(attachment_name, false) withdraws them.';
		END IF;
		view_name := put_attachment_view(a, prefix || 'published_customers', published_customers_view_query(a),
			format('one row per customer of %s as %s shows it, with a pseudonym for the key; runs with its owner''s rights (segment attachment %s)',
				   a.orders_table, customers, a.attachment_name), in_place, published => true);
		built := built || view_name;
		EXECUTE format('COMMENT ON COLUMN %s.customer_pseudonym IS %L', view_name,
					   'HMAC-SHA-256 of the customer''s key under the attachment''s secret, in hex: pseudonymous, not anonymous');
		FOR col IN
			SELECT att.attname, d.description FROM pg_attribute att
			JOIN pg_description d ON d.objoid = att.attrelid AND d.objsubid = att.attnum
			WHERE att.attrelid = customers AND att.attname <> 'customer_id'
		LOOP
			EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', view_name, col.attname, col.description);
		END LOOP;
		built := built || put_attachment_reports(a, view_name::regclass, 'published_', in_place, published => true);
	END IF;
	RETURN built;
END
$function$;
COMMENT ON FUNCTION segment_internal.put_attachment_views(@extschema@.attachments, boolean) IS
	'creates every view of an attachment, or replaces in place those it built before, with their comments';
