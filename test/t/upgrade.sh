#!/usr/bin/env bash
# Every update path gives what a fresh install of the current version gives.
# Run without arguments, the script checks each released version: the
# starting point of an update script in sql/ (PostgreSQL installs an old
# version from the base script and the update scripts up to it); bash
# test/t/upgrade.sh 0.1.0 checks one.
# One database creates the old version, builds user objects on it (a
# view over the aggregates and rfm_score, attachments with their views, a
# custom map and rules, maintained attachments with and without a customers
# table, a table with rfm and segment_set columns and their indexes) and
# runs ALTER EXTENSION segment UPDATE; another creates the current version
# and the same user objects.
#
# Compared, generically, so that any object added to sql/*.sql but not to
# the update script shows: the extension's member objects and, for each,
# its definition (functions with volatility, parallel safety, strictness
# and settings; aggregates with their support functions; types; operators;
# operator classes and families with their members; casts; tables with
# columns, constraints, indexes, triggers, policies and rows; views; comments;
# privileges and initial privileges), and the configuration tables
# pg_dump keeps.  Then the same queries must answer the same in both.
set -euo pipefail
shopt -s extglob
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" segment.control)
if [ $# -eq 0 ]; then
	status=0
	for script in sql/segment--+([0-9.])--+([0-9.]).sql; do
		version=${script#sql/segment--}
		bash "${BASH_SOURCE[0]}" "${version%%--*}" || status=1
	done
	exit $status
fi
first=$1
work=$(mktemp -d)
old=segment_upgrade_old
new=segment_upgrade_new
trap 'rm -rf "$work"; dropdb --if-exists $old 2>/dev/null; dropdb --if-exists $new 2>/dev/null' EXIT
# the views judge customers at a fixed time
export PGOPTIONS="-c segment.as_of=2025-01-01"
psql=(psql -X -q -v ON_ERROR_STOP=1)
status=0

dropdb --if-exists $old 2>/dev/null
dropdb --if-exists $new 2>/dev/null
createdb $old
createdb $new

# user objects that depend on the extension
user_objects() {
	"${psql[@]}" -d "$1" >/dev/null <<'SQL'
CREATE TABLE customers (customer_id int PRIMARY KEY, city text);
CREATE TABLE orders (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO customers SELECT c, (ARRAY['Istanbul', 'Izmir', 'Ankara'])[1 + c % 3] FROM generate_series(1, 400) c;
INSERT INTO orders
SELECT c, timestamptz '2024-12-31' - make_interval(days => (c * 13 + k * 29) % 400, secs => c),
	   ((c % 89) + k * 1.25)::numeric(10, 2)
FROM generate_series(1, 380) c, generate_series(1, 1 + c % 7) k;
-- orders of customers the customers table lacks, recent and large
INSERT INTO orders SELECT c, timestamptz '2024-12-30' - make_interval(days => c % 9), 900 FROM generate_series(401, 440) c;
CREATE VIEW customer_scores AS
SELECT customer_id, rfm_stats(ordered_at, amount) AS stats,
	   rfm_score(rfm_stats(ordered_at, amount), '2025-01-01') OVER () AS score
FROM orders GROUP BY customer_id;
CREATE VIEW population AS
SELECT rfm_thresholds(stats, '2025-01-01', 4) AS thresholds, rfm_stats_merge(stats) AS merged,
	   min(score) AS lowest, max(score) AS highest,
	   segment_set_agg(segment_assign(score)) AS segments
FROM customer_scores;
SELECT copy_segment_map('default', 'mine');
UPDATE segment_map_boxes SET segment_name = 'Best' WHERE map_name = 'mine' AND segment_name = 'Champions';
SELECT attach('shop', 'orders', 'customer_id', 'ordered_at', 'amount', 'customers', 'customer_id');
SELECT define_segment_rule('shop', 'Istanbul', $$city = 'Istanbul'$$, 'customers in Istanbul');
SELECT define_segment_rule('shop', 'Literal', $$'customer.' || city LIKE 'customer_I%' AND order_count > 2$$);
SELECT attach('kept', 'orders', 'customer_id', 'ordered_at', 'amount', map_name => 'mine');
CREATE INDEX ON orders (customer_id);
SELECT maintain_attachment('kept');
SELECT define_segment_rule('shop', 'Frequent', 'order_count >= 5');
SELECT maintain_attachment('shop');
CREATE TABLE scored (customer_id int PRIMARY KEY, score rfm, segments segment_set);
INSERT INTO scored
SELECT s.customer_id, s.score, segment_set(segment_memberships(s.score)) + lifecycle_stage(s.stats, '2025-01-01')
FROM customer_scores s;
CREATE INDEX scored_score ON scored (score);
CREATE INDEX scored_score_hash ON scored USING hash (score);
CREATE INDEX scored_segments ON scored (segments);
CREATE INDEX scored_segments_gin ON scored USING gin (segments);
-- writes through the triggers (the old version's, run by the current
-- library), of customers the customers table does not list, so that the
-- thresholds, which come from the listed ones since 0.4.0, stay the same
INSERT INTO orders VALUES (430, '2024-12-28', 3), (998, '2024-11-01', 2);
UPDATE orders SET amount = amount + 2 WHERE customer_id = 410;
DELETE FROM orders WHERE customer_id = 411;
SQL
}

# old: 0.1.0, user objects, then the update
"${psql[@]}" -d $old -c "CREATE EXTENSION segment VERSION '$first'"
user_objects $old
if ! "${psql[@]}" -d $old -c "ALTER EXTENSION segment UPDATE"; then
	echo "ALTER EXTENSION segment UPDATE from $first failed" >&2
	exit 1
fi
version=$("${psql[@]}" -At -d $old -c "SELECT extversion FROM pg_extension WHERE extname = 'segment'")
if [ "$version" != "$current" ]; then
	echo "the update from $first ended at version $version, not $current" >&2
	status=1
fi
# what the CHANGELOG of 0.8.0 tells users of maintained attachments to do:
# start their history (a fresh install's maintain_attachment() does)
"${psql[@]}" -q -d $old -c "SELECT keep_segment_history(attachment_name) FROM attachments
	WHERE state_table IS NOT NULL AND history_table IS NULL" >/dev/null
# the user view over the aggregates was neither dropped nor blocked
views=$("${psql[@]}" -At -d $old -c "SELECT count(*) FROM pg_views WHERE viewname IN ('customer_scores', 'population')")
if [ "$views" != 2 ]; then
	echo "the user views over the extension's aggregates did not survive the update" >&2
	status=1
fi
# new: a fresh install, then the same user objects
"${psql[@]}" -d $new -c "CREATE EXTENSION segment"
user_objects $new

# Every member of the extension and what defines it, one property per row,
# sorted; multi-line definitions are indented.
describe() {
	"${psql[@]}" -At -d "$1" >"$work/$1.catalog" <<'SQL'
WITH ext AS (
	SELECT oid, extname, extversion, extrelocatable, extnamespace::regnamespace AS schema,
		   extconfig, extcondition
	FROM pg_extension WHERE extname = 'segment'
), members AS (
	SELECT d.classid, d.objid, d.objsubid, i.type || ' ' || i.identity AS object
	FROM pg_depend d, ext, pg_identify_object(d.classid, d.objid, d.objsubid) i
	WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), procs AS (
	SELECT m.object, p.* FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
), rels AS (
	SELECT m.object, c.oid AS relid, c.* FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
), families AS (
	SELECT m.object, f.oid AS familyid
	FROM members m JOIN pg_opfamily f ON m.classid = 'pg_opfamily'::regclass AND f.oid = m.objid
	UNION
	-- families made implicitly by CREATE OPERATOR CLASS belong to the class
	SELECT m.object, c.opcfamily
	FROM members m JOIN pg_opclass c ON m.classid = 'pg_opclass'::regclass AND c.oid = m.objid
), facts (object, property, value) AS (
	SELECT 'extension segment', 'version', extversion || ' relocatable=' || extrelocatable || ' schema=' || schema
	FROM ext
	UNION ALL
	SELECT 'extension segment', 'configuration table ' || cfg::regclass, 'condition=' || cond
	FROM ext, unnest(extconfig, extcondition) AS u(cfg, cond)
	UNION ALL
	SELECT object, 'member', '' FROM members
	-- comments, on objects and on columns
	UNION ALL
	SELECT m.object, 'comment' || coalesce(' on column ' || a.attname, ''), d.description
	FROM members m
	JOIN pg_description d ON d.classoid = m.classid AND d.objoid = m.objid
	LEFT JOIN pg_attribute a ON d.objsubid > 0 AND a.attrelid = d.objoid AND a.attnum = d.objsubid
	-- privileges the extension script granted
	UNION ALL
	SELECT m.object, 'initial privileges' || coalesce(' on column ' || a.attname, ''), ip.initprivs::text
	FROM members m
	JOIN pg_init_privs ip ON ip.classoid = m.classid AND ip.objoid = m.objid
	LEFT JOIN pg_attribute a ON ip.objsubid > 0 AND a.attrelid = ip.objoid AND a.attnum = ip.objsubid
	-- functions, procedures and aggregates
	UNION ALL
	SELECT object, 'definition', pg_get_functiondef(oid) FROM procs WHERE prokind <> 'a'
	UNION ALL
	SELECT object, 'routine',
		   concat_ws(' ', 'kind=' || prokind::text, 'language=' || (SELECT lanname FROM pg_language WHERE oid = prolang),
					 'volatility=' || provolatile::text, 'parallel=' || proparallel::text, 'strict=' || proisstrict,
					 'security_definer=' || prosecdef, 'leakproof=' || proleakproof, 'cost=' || procost,
					 'rows=' || prorows, 'settings=' || coalesce(proconfig::text, '-'),
					 'arguments=(' || pg_get_function_arguments(oid) || ')',
					 'result=' || pg_get_function_result(oid), 'source=' || prosrc,
					 'library=' || coalesce(probin, '-'), 'support=' || prosupport::regproc::text,
					 'acl=' || coalesce(proacl::text, '-'))
	FROM procs
	UNION ALL
	SELECT p.object, 'aggregate',
		   concat_ws(' ', 'kind=' || a.aggkind::text, 'direct_arguments=' || a.aggnumdirectargs,
					 'transition=' || a.aggtransfn::oid::regprocedure, 'final=' || a.aggfinalfn::oid::regprocedure,
					 'combine=' || a.aggcombinefn::oid::regprocedure, 'serialize=' || a.aggserialfn::oid::regprocedure,
					 'deserialize=' || a.aggdeserialfn::oid::regprocedure,
					 'moving=' || a.aggmtransfn::oid::regprocedure || '/' || a.aggminvtransfn::oid::regprocedure
						 || '/' || a.aggmfinalfn::oid::regprocedure,
					 'final_extra=' || a.aggfinalextra || '/' || a.aggmfinalextra,
					 'final_modify=' || a.aggfinalmodify::text || '/' || a.aggmfinalmodify::text,
					 'sort_operator=' || a.aggsortop::regoperator, 'state_type=' || a.aggtranstype::regtype,
					 'state_space=' || a.aggtransspace, 'moving_state=' || a.aggmtranstype::regtype || '/' || a.aggmtransspace,
					 'initial=' || coalesce(a.agginitval, '-') || '/' || coalesce(a.aggminitval, '-'))
	FROM procs p JOIN pg_aggregate a ON a.aggfnoid = p.oid
	-- types
	UNION ALL
	SELECT m.object, 'type',
		   concat_ws(' ', 'length=' || t.typlen, 'by_value=' || t.typbyval, 'kind=' || t.typtype::text,
					 'category=' || t.typcategory::text, 'preferred=' || t.typispreferred, 'delimiter=' || t.typdelim::text,
					 'input=' || t.typinput::oid::regprocedure, 'output=' || t.typoutput::oid::regprocedure,
					 'receive=' || t.typreceive::oid::regprocedure, 'send=' || t.typsend::oid::regprocedure,
					 'typmod_in=' || t.typmodin::oid::regprocedure, 'typmod_out=' || t.typmodout::oid::regprocedure,
					 'analyze=' || t.typanalyze::oid::regprocedure, 'alignment=' || t.typalign::text,
					 'storage=' || t.typstorage::text, 'not_null=' || t.typnotnull, 'base=' || t.typbasetype::regtype,
					 'typmod=' || t.typtypmod, 'element=' || t.typelem::regtype, 'array=' || t.typarray::regtype,
					 'collation=' || t.typcollation::regcollation, 'default=' || coalesce(t.typdefault, '-'),
					 'acl=' || coalesce(t.typacl::text, '-'))
	FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
	UNION ALL
	SELECT m.object, 'enum label ' || e.enumsortorder, e.enumlabel
	FROM members m JOIN pg_enum e ON m.classid = 'pg_type'::regclass AND e.enumtypid = m.objid
	UNION ALL
	SELECT m.object, 'domain constraint ' || c.conname, pg_get_constraintdef(c.oid)
	FROM members m JOIN pg_constraint c ON m.classid = 'pg_type'::regclass AND c.contypid = m.objid
	-- operators
	UNION ALL
	SELECT m.object, 'operator',
		   concat_ws(' ', 'kind=' || o.oprkind::text, 'left=' || o.oprleft::regtype, 'right=' || o.oprright::regtype,
					 'result=' || o.oprresult::regtype, 'commutator=' || o.oprcom::regoperator,
					 'negator=' || o.oprnegate::regoperator, 'function=' || o.oprcode::oid::regprocedure,
					 'restrict=' || o.oprrest::oid::regprocedure, 'join=' || o.oprjoin::oid::regprocedure,
					 'merges=' || o.oprcanmerge, 'hashes=' || o.oprcanhash)
	FROM members m JOIN pg_operator o ON m.classid = 'pg_operator'::regclass AND o.oid = m.objid
	-- operator classes, and the operators and functions of their families
	UNION ALL
	SELECT m.object, 'operator class',
		   concat_ws(' ', 'method=' || am.amname, 'family=' || f.opfnamespace::regnamespace || '.' || f.opfname,
					 'type=' || c.opcintype::regtype, 'default=' || c.opcdefault, 'key=' || c.opckeytype::regtype)
	FROM members m JOIN pg_opclass c ON m.classid = 'pg_opclass'::regclass AND c.oid = m.objid
	JOIN pg_am am ON am.oid = c.opcmethod JOIN pg_opfamily f ON f.oid = c.opcfamily
	UNION ALL
	SELECT DISTINCT fm.object, 'family operator ' || o.amopstrategy || ' (' || o.amoplefttype::regtype || ', '
				   || o.amoprighttype::regtype || ')',
		   concat_ws(' ', o.amopopr::regoperator, 'purpose=' || o.amoppurpose::text,
					 'sort_family=' || coalesce((SELECT opfname FROM pg_opfamily WHERE oid = o.amopsortfamily), '-'))
	FROM families fm JOIN pg_amop o ON o.amopfamily = fm.familyid
	UNION ALL
	SELECT DISTINCT fm.object, 'family function ' || p.amprocnum || ' (' || p.amproclefttype::regtype || ', '
				   || p.amprocrighttype::regtype || ')', p.amproc::oid::regprocedure::text
	FROM families fm JOIN pg_amproc p ON p.amprocfamily = fm.familyid
	-- casts
	UNION ALL
	SELECT m.object, 'cast',
		   concat_ws(' ', 'function=' || c.castfunc::regprocedure, 'context=' || c.castcontext::text, 'method=' || c.castmethod::text)
	FROM members m JOIN pg_cast c ON m.classid = 'pg_cast'::regclass AND c.oid = m.objid
	-- tables, views, sequences
	UNION ALL
	SELECT object, 'relation',
		   concat_ws(' ', 'kind=' || relkind::text, 'persistence=' || relpersistence::text, 'options=' || coalesce(reloptions::text, '-'),
					 'row_security=' || relrowsecurity || '/' || relforcerowsecurity, 'replica_identity=' || relreplident::text,
					 'acl=' || coalesce(relacl::text, '-'))
	FROM rels
	UNION ALL
	SELECT r.object, 'column ' || lpad(row_number() OVER (PARTITION BY r.relid ORDER BY a.attnum)::text, 3, '0') || ' ' || a.attname,
		   concat_ws(' ', format_type(a.atttypid, a.atttypmod), 'not_null=' || a.attnotnull,
					 'default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-'), 'identity=' || a.attidentity::text,
					 'generated=' || a.attgenerated::text, 'collation=' || a.attcollation::regcollation,
					 'acl=' || coalesce(a.attacl::text, '-'))
	FROM rels r JOIN pg_attribute a ON a.attrelid = r.relid AND a.attnum > 0 AND NOT a.attisdropped
	LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	UNION ALL
	SELECT r.object, 'constraint ' || c.conname, pg_get_constraintdef(c.oid)
	FROM rels r JOIN pg_constraint c ON c.conrelid = r.relid
	UNION ALL
	SELECT r.object, 'index ' || i.indexrelid::regclass, pg_get_indexdef(i.indexrelid)
	FROM rels r JOIN pg_index i ON i.indrelid = r.relid
	UNION ALL
	SELECT r.object, 'trigger ' || t.tgname, pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
	FROM rels r JOIN pg_trigger t ON t.tgrelid = r.relid AND NOT t.tgisinternal
	UNION ALL
	SELECT r.object, 'policy ' || p.polname,
		   concat_ws(' ', 'command=' || p.polcmd::text, 'permissive=' || p.polpermissive, 'roles=' || p.polroles::regrole[]::text,
					 'using=' || coalesce(pg_get_expr(p.polqual, p.polrelid), '-'),
					 'check=' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '-'))
	FROM rels r JOIN pg_policy p ON p.polrelid = r.relid
	UNION ALL
	SELECT r.object, 'rule ' || w.rulename, pg_get_ruledef(w.oid)
	FROM rels r JOIN pg_rewrite w ON w.ev_class = r.relid AND w.rulename <> '_RETURN'
	UNION ALL
	SELECT object, 'view', pg_get_viewdef(relid) FROM rels WHERE relkind IN ('v', 'm')
	UNION ALL
	SELECT r.object, 'sequence',
		   concat_ws(' ', s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
	FROM rels r JOIN pg_sequence s ON s.seqrelid = r.relid
	-- the rows of tables (both databases hold the same user data)
	UNION ALL
	SELECT object, 'rows',
		   (xpath('/row/c/text()',
				  query_to_xml(format('SELECT count(*) || '' '' || coalesce(md5(string_agg(t::text, E''\n'' ORDER BY t::text)), '''') AS c FROM %s t',
									  relid::regclass), false, true, '')))[1]::text
	FROM rels WHERE relkind IN ('r', 'p')
	-- schemas, languages and anything else: the member row above names them;
	-- their privileges here
	UNION ALL
	SELECT m.object, 'schema', 'owner=' || pg_get_userbyid(n.nspowner) || ' acl=' || coalesce(n.nspacl::text, '-')
	FROM members m JOIN pg_namespace n ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid
)
SELECT object || ' | ' || property || ' | ' || replace(value, E'\n', E'\n    ')
FROM facts ORDER BY object COLLATE "C", property COLLATE "C", value COLLATE "C";
SQL
}
describe $old
describe $new
members=$(grep -c ' | member | ' "$work/$new.catalog" || true)
if [ "$members" -lt 100 ]; then
	echo "only $members member objects found in the fresh install: the description is broken" >&2
	status=1
fi
if ! diff -u --label "updated from $first" --label "fresh $current" "$work/$old.catalog" "$work/$new.catalog" \
	>"$work/catalog.diff"; then
	echo "the extension updated from $first differs from a fresh install of $current" \
		"(- updated, + fresh; add what is missing to the update scripts in sql/):" >&2
	cat "$work/catalog.diff" >&2
	status=1
fi

# The same queries answer the same in both databases.
answers() {
	"${psql[@]}" -At -d "$1" -c "$2"
}
same() {
	local what=$1 query=$2 a b
	a=$(answers $old "$query")
	b=$(answers $new "$query")
	if [ "$a" != "$b" ]; then
		echo "$what differs: updated $a, fresh $b" >&2
		status=1
	fi
}
hash="count(*) || ' ' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '')"
same "view customer_scores" "SELECT $hash FROM customer_scores t"
same "view population" "SELECT $hash FROM population t"
queries=2
# The attachments' views in the updated database were built by the 0.1.0
# attach().  If they differ only until rebuild_attachment_views(), say so
# (the README should tell users); if they differ after it, fail.
stale=()
for view in $(answers $new "SELECT unnest(views) FROM attachments ORDER BY 1"); do
	query="SELECT $hash FROM $view t"
	[ "$(answers $old "$query")" = "$(answers $new "$query")" ] || stale+=("$view")
	queries=$((queries + 1))
done
if [ ${#stale[@]} -gt 0 ]; then
	echo "NOTE: views built by attach() in $first differ from those of $current until" \
		"rebuild_attachment_views(): ${stale[*]}" >&2
	answers $old "SELECT rebuild_attachment_views(attachment_name) FROM attachments" >/dev/null
	for view in "${stale[@]}"; do
		same "view $view, rebuilt after the update," "SELECT $hash FROM $view t"
	done
fi
while IFS= read -r query; do
	[ -n "$query" ] || continue
	same "$query" "SELECT $hash FROM ($query) t"
	queries=$((queries + 1))
done <<'SQL'
SELECT c.*, segment_assign(c.rfm), segment_memberships(c.rfm), segment_assign(c.rfm, 'mine') FROM (SELECT make_rfm(r, f, m) AS rfm FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m) c
SELECT * FROM segment_map_cells('mine')
SELECT * FROM lifecycle_stages()
SELECT customer_id, lifecycle_stage(stats, '2025-01-01'), lifecycle_stage(stats, '2025-01-01', new_days => 10, rhythm_min_orders => 2) FROM customer_scores
SELECT customer_id, rfm_score(stats, '2025-01-01', 3, 4, 5) OVER (), rfm_score(stats, '2025-01-01', (SELECT thresholds FROM population)) FROM customer_scores
SELECT customer_id, order_count(stats), total_amount(stats), recency_days(stats, '2025-01-01'), mean_days_between_orders(stats), days_before_last_order(stats) FROM customer_scores
SELECT rfm_stats(ordered_at, amount)::text FROM orders
SELECT * FROM scored WHERE segments @> '{Champions}' OR segments ? 'lapsed' OR segments && '{Lost,Hibernating}'
SELECT score, count(*), segment_set_agg(segment_assign(score)) FROM scored GROUP BY score
SELECT segments, count(*) FROM scored GROUP BY segments
SELECT refresh_attachment_thresholds('kept')
SELECT customer_id, stats, scores, lifecycle_stage, segments, scored_at FROM kept_state
SQL
# the GIN and B-tree indexes on the segment_set and rfm columns still serve
for db in $old $new; do
	plan=$("${psql[@]}" -At -d "$db" -c "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT * FROM scored WHERE segments @> '{Champions}'")
	grep -q 'scored_segments_gin' <<<"$plan" || { echo "$db: the GIN index is not used: $plan" >&2; status=1; }
	plan=$("${psql[@]}" -At -d "$db" -c "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT * FROM scored WHERE score = '5-5-5'")
	grep -q 'scored_score' <<<"$plan" || { echo "$db: the rfm index is not used: $plan" >&2; status=1; }
done
same "the GIN index's answer" "SET enable_seqscan = off; SELECT count(*) FROM scored WHERE segments @> '{Champions}'"
# the state tables (not members of the extension) have the columns,
# comments, indexes and storage options of the current version
same "the state tables" "SELECT c.relname, c.reloptions,
	(SELECT array_agg(pg_get_indexdef(i.indexrelid) ORDER BY 1) FROM pg_index i WHERE i.indrelid = c.oid),
	(SELECT array_agg(concat_ws(' ', a.attname, format_type(a.atttypid, a.atttypmod), col_description(c.oid, a.attnum))
					  ORDER BY a.attnum)
	 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
	FROM attachments t JOIN pg_class c ON c.oid = t.state_table ORDER BY 1"
# the maintained attachment's trigger works after the update (the spans
# of validity may differ: any span inside the true one is right, and the
# state test checks them)
same "the maintained state after writes" "INSERT INTO orders VALUES (7, '2024-12-30', 12.5), (999, '2024-12-01', 1);
	DELETE FROM orders WHERE customer_id = 8; UPDATE orders SET amount = amount + 1 WHERE customer_id = 9;
	SELECT $hash FROM (SELECT customer_id, stats, scores, lifecycle_stage, segments, scored_at FROM kept_state) t"
# the maintained attachment with a customers table stores its attribute
# rule's segments after the update, and its trigger keeps them
same "the customer tags" "SELECT $hash FROM shop_tags t"
same "the customer tags after writes" "INSERT INTO customers VALUES (401, 'Istanbul'), (402, 'Bursa');
	UPDATE customers SET city = 'Istanbul' WHERE customer_id % 10 = 1; DELETE FROM customers WHERE customer_id = 3;
	UPDATE customers SET customer_id = 1000 WHERE customer_id = 6;
	SELECT $hash FROM shop_tags t"
same "the customers view after writes" "SELECT $hash FROM shop_customers t"

echo "$members member objects compared after the update from $first to $current; $queries queries compared"
exit $status
