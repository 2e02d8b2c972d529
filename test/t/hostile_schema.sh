#!/usr/bin/env bash
# A hostile role plants, in the schema public that everyone may create in
# (the default before PostgreSQL 15), functions, operators, aggregates and
# implicit casts that shadow the built-ins and extension objects segment
# uses, each of which records its call and tries to make the role superuser.
# A superuser then installs segment in its own schema (0.1.0 updated to the
# current version, dropped, and the current version), and the superuser and
# an ordinary role use everything with public first in their search_path,
# before pg_catalog: attach, rules,
# a copied map, maintained state and customer tags and trigger writes to
# both, thresholds, every view,
# scoring, segments, lifecycle stages and segment sets with their GIN index.
# No planted object may ever run and the role must not become superuser
# (CVE-2018-1058 / CVE-2020-14350 class).  Before all that, the hostile role
# calls one of its plants itself, to show they fire when name lookup finds
# them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
db=segment_hostile
work=$(mktemp -d)
cleanup() {
	dropdb --if-exists "$db" 2>/dev/null || true
	psql -X -q -d postgres -c 'DROP ROLE IF EXISTS hostile_attacker' -c 'DROP ROLE IF EXISTS hostile_user' \
		2>/dev/null || true
}
trap 'status=$?; [ $status -eq 0 ] || { echo "== hostile_schema.sh log" >&2; grep -m5 -A4 ERROR "$work/log" >&2; grep planted "$work/log" | sort | uniq -c >&2; }; cleanup; rm -rf "$work"' EXIT
cleanup
version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" segment.control)

# run SQL as a role; warnings (where a planted object would report) go to the log
as() {
	local role=$1
	shift
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -U "$role" "$@" >>"$work/out" 2>>"$work/log"
}

createdb "$db"
as postgres <<'SQL'
SET search_path = pg_catalog;
GRANT CREATE ON SCHEMA public TO PUBLIC;     -- as before PostgreSQL 15
CREATE SCHEMA seg;                           -- the extension's own: nobody else creates there
GRANT USAGE ON SCHEMA seg TO PUBLIC;
CREATE ROLE hostile_attacker LOGIN;
CREATE ROLE hostile_user LOGIN;
CREATE SCHEMA shop;
CREATE SCHEMA usershop AUTHORIZATION hostile_user;
SQL

# The plants, part one: built-ins.  Every one calls hostile_hit, which counts
# the call in a sequence (kept when the caller's transaction fails), logs
# it, warns, and tries ALTER ROLE ... SUPERUSER, which works when a superuser
# is the caller.
as hostile_attacker <<'SQL'
SET search_path = pg_catalog;
CREATE TABLE public.hostile_calls (what text, called_by name);
GRANT INSERT ON public.hostile_calls TO PUBLIC;
CREATE SEQUENCE public.hostile_calls_seq;
GRANT USAGE ON SEQUENCE public.hostile_calls_seq TO PUBLIC;
CREATE FUNCTION public.hostile_hit(what text) RETURNS void LANGUAGE plpgsql
	SET search_path = pg_catalog AS $$
BEGIN
	PERFORM nextval('public.hostile_calls_seq');
	INSERT INTO public.hostile_calls VALUES (what, current_user);
	RAISE WARNING 'planted % called by %', what, current_user;
	BEGIN
		EXECUTE 'ALTER ROLE hostile_attacker SUPERUSER';
	EXCEPTION WHEN OTHERS THEN NULL;
	END;
END $$;
GRANT EXECUTE ON FUNCTION public.hostile_hit(text) TO PUBLIC;

-- a function public.name(args) returning type that reports its call
CREATE FUNCTION public.hostile_plant(name text, args text, returns text, label text DEFAULT NULL) RETURNS void
	LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
	EXECUTE format('CREATE FUNCTION public.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
				   name, args, returns,
				   format('BEGIN PERFORM public.hostile_hit(%L); RETURN%s; END',
						  coalesce(label, name || '(' || args || ')'),
						  CASE WHEN returns = 'void' THEN '' ELSE ' NULL' END));
EXCEPTION WHEN duplicate_function THEN NULL;
END $$;
-- an operator public.op(left, right) likewise
CREATE FUNCTION public.hostile_operator(op text, l text, r text, returns text) RETURNS void
	LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
	f text := 'hostile_op_' || md5(op || l || r);
BEGIN
	PERFORM public.hostile_plant(f, l || ', ' || r, returns, format('operator %s (%s, %s)', op, l, r));
	EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.%I)', op, l, r, f);
END $$;
-- an aggregate public.name(type)
CREATE FUNCTION public.hostile_aggregate(name text, arg text) RETURNS void
	LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
	f text := 'hostile_agg_' || md5(name || arg);
BEGIN
	PERFORM public.hostile_plant(f, arg || ', ' || arg, arg, format('aggregate %s(%s)', name, arg));
	EXECUTE format('CREATE AGGREGATE public.%I(%s) (SFUNC = public.%I, STYPE = %s)', name, arg, f, arg);
END $$;

DO $$
DECLARE
	t text[] := '{text,name,regclass,integer}';
	a text;
	b text;
	c text;
BEGIN
	-- format with every mix of up to three arguments of these types
	FOREACH a IN ARRAY t LOOP
		PERFORM public.hostile_plant('format', 'text, ' || a, 'text');
		FOREACH b IN ARRAY t LOOP
			PERFORM public.hostile_plant('format', 'text, ' || a || ', ' || b, 'text');
			FOREACH c IN ARRAY t LOOP
				PERFORM public.hostile_plant('format', 'text, ' || a || ', ' || b || ', ' || c, 'text');
			END LOOP;
		END LOOP;
	END LOOP;
	PERFORM public.hostile_plant(f[1], f[2], f[3]) FROM (VALUES
		('{quote_ident,name,text}'::text[]), ('{quote_ident,varchar,text}'), ('{quote_ident,text,text}'),
		('{quote_literal,name,text}'), ('{quote_literal,varchar,text}'), ('{quote_nullable,name,text}'),
		('{lower,name,text}'), ('{lower,varchar,text}'), ('{lower,text,text}'), ('{upper,name,text}'),
		('{btrim,name,text}'), ('{"btrim","name, text",text}'), ('{"btrim","text, text",text}'),
		('{"replace","name, text, text",text}'), ('{"replace","varchar, text, text",text}'),
		('{"replace","text, text, text",text}'),
		('{"left","name, integer",text}'), ('{"left","text, integer",text}'),
		('{"regexp_replace","name, text, text, text",text}'), ('{"regexp_replace","text, text, text, text",text}'),
		('{"regexp_replace","text, text, text",text}'),
		('{"array_to_string","name[], text",text}'), ('{"array_to_string","text[], text",text}'),
		('{"array_upper","text[], integer",integer}'), ('{"array_upper","name[], integer",integer}'),
		('{"array_remove","text[], text","text[]"}'), ('{"array_cat","text[], text[]","text[]"}'),
		('{"concat_ws","text, text, text",text}'), ('{"concat","text, text",text}'),
		('{"current_setting","text, boolean",text}'), ('{"current_setting","text",text}'),
		('{"set_config","text, text, boolean",text}'),
		('{now,"",timestamptz}'), ('{clock_timestamp,"",timestamptz}'), ('{"statement_timestamp","",timestamptz}'),
		('{"format_type","oid, integer",text}'), ('{"format_type","regtype, integer",text}'),
		('{"has_schema_privilege","name, text",boolean}'), ('{"has_schema_privilege","text, text",boolean}'),
		('{"has_table_privilege","regclass, text",boolean}'), ('{"has_table_privilege","text, text",boolean}'),
		('{"pg_has_role","oid, text",boolean}'), ('{"pg_has_role","name, text",boolean}'),
		('{"to_regclass","text",regclass}'), ('{"to_regclass","name",regclass}'),
		('{"round","numeric, integer",numeric}'), ('{"round","numeric",numeric}'),
		('{"round","double precision",numeric}'),
		('{"length","text",integer}'), ('{"length","name",integer}'), ('{"md5","text",text}'),
		('{"octet_length","text",integer}'), ('{"convert_to","text, name",bytea}'), ('{getdatabaseencoding,"",name}'),
		('{"nextval","regclass",bigint}'), ('{"nextval","text",bigint}'),
		('{"generate_series","integer, integer",integer}'), ('{"unnest","text[]",text}'),
		('{"unnest","name[]",name}'), ('{"unnest","regclass[]",regclass}'),
		('{"hashint8","bigint",integer}'), ('{"hashtext","text",integer}'),
		('{"pg_advisory_xact_lock","bigint",void}'), ('{"pg_extension_config_dump","regclass, text",void}'),
		('{"pg_extension_config_dump","text, text",void}'),
		('{"numeric","double precision",numeric}'), ('{"float8","numeric",double precision}'),
		('{"timestamptz","timestamp",timestamptz}'), ('{"timestamptz","date",timestamptz}'),
		('{"text","name",text}'), ('{"int4","bigint",integer}'), ('{"int8","integer",bigint}'),
		('{"regclass","text",regclass}'), ('{"regtype","text",regtype}')
	) v(f);
	PERFORM public.hostile_operator(o[1], o[2], o[3], o[4]) FROM (VALUES
		('{=,text,text,boolean}'::text[]), ('{=,name,name,boolean}'), ('{=,name,text,boolean}'),
		('{=,text,name,boolean}'), ('{=,integer,integer,boolean}'), ('{=,bigint,bigint,boolean}'),
		('{=,integer,bigint,boolean}'), ('{=,oid,oid,boolean}'), ('{=,oid,regclass,boolean}'),
		('{=,regclass,oid,boolean}'), ('{=,regclass,regclass,boolean}'), ('{=,regtype,regtype,boolean}'),
		('{=,numeric,numeric,boolean}'), ('{=,timestamptz,timestamptz,boolean}'), ('{=,boolean,boolean,boolean}'),
		('{=,"text[]","text[]",boolean}'), ('{=,smallint,smallint,boolean}'),
		('{<>,text,text,boolean}'), ('{<>,name,name,boolean}'), ('{<>,integer,integer,boolean}'),
		('{<>,regtype,regtype,boolean}'), ('{<>,oid,oid,boolean}'),
		('{~,text,text,boolean}'), ('{~,name,text,boolean}'), ('{!~,text,text,boolean}'),
		('{||,text,text,text}'), ('{||,text,name,text}'), ('{||,name,text,text}'),
		('{||,"text[]",text,"text[]"}'), ('{||,"text[]","text[]","text[]"}'),
		('{>=,integer,integer,boolean}'), ('{<=,integer,integer,boolean}'), ('{>,integer,integer,boolean}'),
		('{<,integer,integer,boolean}'), ('{>,smallint,integer,boolean}'), ('{>,bigint,bigint,boolean}'),
		('{>,numeric,numeric,boolean}'), ('{<=,timestamptz,timestamptz,boolean}'),
		('{>,timestamptz,timestamptz,boolean}'), ('{<,double precision,double precision,boolean}'),
		('{/,numeric,numeric,numeric}'), ('{/,numeric,bigint,numeric}'), ('{/,bigint,bigint,bigint}'),
		('{+,integer,integer,integer}'), ('{-,timestamptz,timestamptz,interval}'),
		('{-,timestamptz,interval,timestamptz}'), ('{*,integer,integer,integer}'),
		('{%,integer,integer,integer}'), ('{&,bigint,bigint,bigint}'),
		('{@>,"text[]","text[]",boolean}'), ('{<@,"text[]","text[]",boolean}'), ('{&&,"text[]","text[]",boolean}'),
		('{?,text,text,boolean}')
	) v(o);
	PERFORM public.hostile_aggregate(g[1], g[2]) FROM (VALUES
		('{count,text}'::text[]), ('{count,integer}'), ('{count,bigint}'), ('{count,name}'),
		('{count,timestamptz}'), ('{sum,numeric}'), ('{sum,bigint}'), ('{sum,integer}'),
		('{max,timestamptz}'), ('{min,timestamptz}'), ('{max,integer}'), ('{avg,numeric}'),
		('{array_agg,name}'), ('{array_agg,text}'), ('{string_agg,text}')
	) v(g);
END $$;
CREATE FUNCTION public.hostile_count_star_sfunc(bigint) RETURNS bigint LANGUAGE plpgsql AS
	$$ BEGIN PERFORM public.hostile_hit('count(*)'); RETURN 0; END $$;
CREATE AGGREGATE public.count(*) (SFUNC = public.hostile_count_star_sfunc, STYPE = bigint, INITCOND = 0);
-- implicit casts from built-in types to a type of its own, and functions
-- that take it
CREATE TYPE public.hostile_enum AS ENUM ('x');
CREATE FUNCTION public.hostile_cast(text) RETURNS public.hostile_enum LANGUAGE plpgsql AS
	$$ BEGIN PERFORM public.hostile_hit('cast'); RETURN 'x'; END $$;
CREATE FUNCTION public.hostile_cast(name) RETURNS public.hostile_enum LANGUAGE plpgsql AS
	$$ BEGIN PERFORM public.hostile_hit('cast'); RETURN 'x'; END $$;
CREATE FUNCTION public.hostile_cast(integer) RETURNS public.hostile_enum LANGUAGE plpgsql AS
	$$ BEGIN PERFORM public.hostile_hit('cast'); RETURN 'x'; END $$;
CREATE FUNCTION public.hostile_cast(regclass) RETURNS public.hostile_enum LANGUAGE plpgsql AS
	$$ BEGIN PERFORM public.hostile_hit('cast'); RETURN 'x'; END $$;
CREATE CAST (text AS public.hostile_enum) WITH FUNCTION public.hostile_cast(text) AS IMPLICIT;
CREATE CAST (name AS public.hostile_enum) WITH FUNCTION public.hostile_cast(name) AS IMPLICIT;
CREATE CAST (integer AS public.hostile_enum) WITH FUNCTION public.hostile_cast(integer) AS IMPLICIT;
CREATE CAST (regclass AS public.hostile_enum) WITH FUNCTION public.hostile_cast(regclass) AS IMPLICIT;
SELECT public.hostile_plant(f, a, 'text') FROM (VALUES ('format', 'public.hostile_enum'),
	('format', 'public.hostile_enum, public.hostile_enum'), ('format', 'text, public.hostile_enum'),
	('lower', 'public.hostile_enum'), ('quote_ident', 'public.hostile_enum'),
	('array_to_string', 'public.hostile_enum[], text')) v(f, a);
SELECT public.hostile_operator('=', 'public.hostile_enum', 'public.hostile_enum', 'boolean');
SQL

# the extension's schema is not the hostile role's to write
if as hostile_attacker -c 'CREATE FUNCTION seg.segment_as_of(integer) RETURNS int LANGUAGE sql AS $$SELECT 1$$'; then
	echo "the hostile role could create objects in the extension's schema" >&2
	exit 1
fi

# the plants fire when lookup finds them: the hostile role calls one itself
as hostile_attacker -c 'SET search_path = public, pg_catalog' -c "SELECT format('%s', 'x'::name)"
control=$(psql -X -At -d "$db" -c 'SELECT count(*) FROM public.hostile_calls')
if [ "$control" != 1 ] || ! grep -q 'planted format(text, name) called by hostile_attacker' "$work/log"; then
	echo "a plant did not fire when called: $control calls" >&2
	cat "$work/log" >&2
	exit 1
fi
as hostile_attacker -c 'TRUNCATE public.hostile_calls' -c "SELECT setval('public.hostile_calls_seq', 1, false)"
: >"$work/log"

as postgres <<SQL
SET search_path = pg_catalog;
-- the update path runs its scripts among the plants too
CREATE EXTENSION segment VERSION '0.1.0' SCHEMA seg;
ALTER EXTENSION segment UPDATE TO '$version';
DROP EXTENSION segment;
CREATE EXTENSION segment SCHEMA seg;
GRANT INSERT, UPDATE, DELETE ON seg.attachments, seg.segment_rules TO hostile_user;
SQL

# The plants, part two: the extension's own names and operators, in public.
as hostile_attacker <<'SQL'
SET search_path = pg_catalog;
SELECT public.hostile_plant(f[1], f[2], f[3]) FROM (VALUES
	('{rfm_score,"seg.rfm_stats, timestamptz",seg.rfm}'::text[]),
	('{rfm_score,"seg.rfm_stats, timestamptz, integer",seg.rfm}'),
	('{rfm_score,"seg.rfm_stats, timestamptz, seg.rfm_thresholds",seg.rfm}'),
	('{segment_assign,"seg.rfm, text",text}'), ('{segment_assign,"seg.rfm",text}'),
	('{segment_memberships,"seg.rfm, text","text[]"}'),
	('{lifecycle_stage,"seg.rfm_stats, timestamptz",text}'), ('{lifecycle_stages,"",text}'),
	('{rfm_stats_of_order,"timestamptz, numeric",seg.rfm_stats}'),
	('{rfm_stats_combine,"seg.rfm_stats, seg.rfm_stats",seg.rfm_stats}'),
	('{total_amount,"seg.rfm_stats",numeric}'), ('{order_count,"seg.rfm_stats",bigint}'),
	('{recency_days,"seg.rfm_stats, timestamptz",double precision}'),
	('{recency_score,"seg.rfm",integer}'), ('{rfm_cell,"seg.rfm",integer}'),
	('{segment_as_of,"",timestamptz}'), ('{segment_rule_check,"text",void}'),
	('{segment_slug,"text",text}'), ('{column_type,"regclass, name",regtype}'),
	('{owns_relation,"regclass",boolean}'), ('{rebuild_attachment_views,"text",text}'),
	('{refresh_attachment_thresholds,"text",seg.rfm_thresholds}'),
	('{stop_maintaining,"text, boolean",void}'), ('{comment_view,"text, text, text, text",void}'),
	('{segment_rule_is_attribute,"text, regclass, name",boolean}'), ('{customer_tags_obstacle,"text",text}'),
	('{store_customer_tags,"text, boolean",bigint}'), ('{refresh_customer_tags,"text",bigint}'),
	('{segment_set,"text[]",seg.segment_set}'), ('{segment_set_has,"seg.segment_set, text",boolean}')
) v(f);
SELECT public.hostile_operator(o[1], o[2], o[3], o[4]) FROM (VALUES
	('{@>,seg.segment_set,seg.segment_set,boolean}'::text[]), ('{<@,seg.segment_set,seg.segment_set,boolean}'),
	('{&&,seg.segment_set,seg.segment_set,boolean}'), ('{?,seg.segment_set,text,boolean}'),
	('{=,seg.segment_set,seg.segment_set,boolean}'), ('{<>,seg.segment_set,seg.segment_set,boolean}'),
	('{|,seg.segment_set,seg.segment_set,seg.segment_set}'),
	('{+,seg.segment_set,text,seg.segment_set}'), ('{=,seg.rfm,seg.rfm,boolean}')
) v(o);
SELECT public.hostile_aggregate('rfm_stats_combine_agg', 'seg.rfm_stats');
CREATE FUNCTION public.hostile_stats_sfunc(seg.rfm_stats, timestamptz, numeric) RETURNS seg.rfm_stats
	LANGUAGE plpgsql AS $$ BEGIN PERFORM public.hostile_hit('rfm_stats aggregate'); RETURN $1; END $$;
CREATE AGGREGATE public.rfm_stats(timestamptz, numeric) (SFUNC = public.hostile_stats_sfunc, STYPE = seg.rfm_stats);
CREATE FUNCTION public.hostile_set_sfunc(seg.segment_set, text) RETURNS seg.segment_set
	LANGUAGE plpgsql AS $$ BEGIN PERFORM public.hostile_hit('segment_set_agg'); RETURN $1; END $$;
CREATE AGGREGATE public.segment_set_agg(text) (SFUNC = public.hostile_set_sfunc, STYPE = seg.segment_set);
SQL

# tables of the superuser and of the ordinary role, made with a safe search_path
for owner in postgres:shop hostile_user:usershop; do
	as "${owner%%:*}" <<SQL
SET search_path = pg_catalog;
CREATE TABLE ${owner#*:}.customers (customer_id integer PRIMARY KEY, city text);
CREATE TABLE ${owner#*:}.orders (order_id serial PRIMARY KEY, customer_id integer, ordered_at timestamptz, amount numeric);
CREATE INDEX ON ${owner#*:}.orders (customer_id);
INSERT INTO ${owner#*:}.customers SELECT c, (ARRAY['Izmir', 'Ankara'])[1 + c % 2] FROM generate_series(1, 60) c;
INSERT INTO ${owner#*:}.orders (customer_id, ordered_at, amount)
SELECT c, timestamptz '2024-12-31' - make_interval(days => (c * 7 + k * 13) % 300), (c % 17) + k
FROM generate_series(1, 50) c, generate_series(1, 1 + c % 5) k;
SQL
done

# Everything, with public first in the search_path.  The statements here
# qualify what they name themselves, so that only segment's own name lookups
# can meet a plant.
workflow() {
	local role=$1 schema=$2 name=$3 map=$4
	as "$role" <<SQL
SET search_path = public, seg, pg_catalog;
SET segment.as_of = '2025-01-01';
SELECT seg.attach('$name', '$schema.orders', 'customer_id', 'ordered_at', 'amount',
				  '$schema.customers', 'customer_id', map_name => '$map');
SELECT seg.define_segment_rule('$name', 'Izmir recent', \$\$city = 'Izmir' AND recency_days <= 60\$\$);
SELECT seg.define_segment_rule('$name', 'Big', 'average_order_value > population_average_order_value');
SELECT seg.define_segment_rule('$name', 'Ankara', \$\$city = 'Ankara' AND customer_id > 2\$\$);
SELECT seg.maintain_attachment('$name');
INSERT INTO $schema.customers VALUES (61, 'Ankara'), (62, 'Izmir');
UPDATE $schema.customers SET city = 'Ankara' WHERE customer_id OPERATOR(pg_catalog.=) 5;
UPDATE $schema.customers SET customer_id = 70 WHERE customer_id OPERATOR(pg_catalog.=) 6;
DELETE FROM $schema.customers WHERE customer_id OPERATOR(pg_catalog.=) 8;
SELECT seg.refresh_customer_tags('$name');
INSERT INTO $schema.orders (customer_id, ordered_at, amount) VALUES (55, '2024-12-30', 12.5), (3, '2024-12-31', 7);
UPDATE $schema.orders SET amount = 99 WHERE order_id OPERATOR(pg_catalog.=) 1;
UPDATE $schema.orders SET customer_id = 4 WHERE order_id OPERATOR(pg_catalog.=) 2;
UPDATE $schema.orders SET ordered_at = '2024-11-11' WHERE order_id OPERATOR(pg_catalog.=) 5;
DELETE FROM $schema.orders WHERE order_id OPERATOR(pg_catalog.=) 3;
SELECT seg.refresh_attachment_thresholds('$name');
SELECT seg.drop_segment_rule('$name', 'Big');
SELECT pg_catalog.format('SELECT * FROM %s', v) FROM seg.attachments a, pg_catalog.unnest(a.views) v
WHERE a.attachment_name OPERATOR(pg_catalog.=) '$name' \gexec
SELECT * FROM $schema.${name}_customers WHERE customer_id OPERATOR(pg_catalog.=) 7;
SELECT seg.segment_assign('5-4-3'::seg.rfm), seg.segment_assign('1-1-1'::seg.rfm, 'default'::text),
	   seg.segment_memberships('5-5-5'::seg.rfm), seg.segment_map_cells('default'::text);
SELECT seg.lifecycle_stage(s.stats, '2025-01-01'::timestamptz), seg.lifecycle_stages(),
	   seg.rfm_score(s.stats, '2025-01-01'::timestamptz) OVER (),
	   seg.rfm_score(s.stats, '2025-01-01'::timestamptz, 3) OVER ()
FROM $schema.${name}_state s;
SELECT seg.rfm_score(s.stats, '2025-01-01'::timestamptz, a.thresholds)
FROM $schema.${name}_state s, seg.attachments a WHERE a.attachment_name OPERATOR(pg_catalog.=) '$name';
SELECT seg.rfm_thresholds(s.stats, '2025-01-01'::timestamptz) FROM $schema.${name}_state s;
SELECT o.customer_id, seg.rfm_stats(o.ordered_at, o.amount) FROM $schema.orders o GROUP BY o.customer_id;
CREATE TABLE $schema.sets AS
SELECT m.customer_id, seg.segment_set_agg(m.segment) AS segments
FROM $schema.${name}_segment_members m GROUP BY m.customer_id;
CREATE INDEX ON $schema.sets USING gin (segments seg.segment_set_ops);
SET enable_seqscan = off;
SELECT pg_catalog.count(*) FROM $schema.sets WHERE segments OPERATOR(seg.@>) '{Champions}'::seg.segment_set;
SELECT pg_catalog.count(*) FROM $schema.sets WHERE segments OPERATOR(seg.?) 'Lost'::text;
SELECT pg_catalog.count(*) FROM $schema.sets WHERE segments OPERATOR(seg.&&) '{Lost,Big}'::seg.segment_set;
SELECT pg_catalog.count(*) FROM $schema.sets WHERE segments OPERATOR(seg.=) '{Lost,Hibernating}'::seg.segment_set;
RESET enable_seqscan;
SELECT '{a,b}'::seg.segment_set OPERATOR(seg.<@) '{a,b,c}'::seg.segment_set,
	   ('{a}'::seg.segment_set OPERATOR(seg.|) '{b}'::seg.segment_set) OPERATOR(seg.&) '{b}'::seg.segment_set,
	   ('{a}'::seg.segment_set OPERATOR(seg.+) 'c'::text) OPERATOR(seg.-) 'a'::text,
	   seg.segment_set('{x,y}'::text[]), seg.segment_set_labels('{x,y}'::seg.segment_set),
	   '{x,y}'::seg.segment_set::text[];
SQL
}
as postgres <<'SQL'
SET search_path = public, seg, pg_catalog;
SELECT seg.copy_segment_map('default', 'hostile_house');
UPDATE seg.segment_map_boxes SET recency_min = 5
WHERE map_name OPERATOR(pg_catalog.=) 'hostile_house' AND segment_name OPERATOR(pg_catalog.=) 'Champions';
INSERT INTO seg.segment_map_boxes VALUES ('hostile_house', 'Whales', 5, 1, 5, 1, 5, 5, 5);
SQL
workflow postgres shop hostile_shop hostile_house
workflow hostile_user usershop hostile_user_shop default
# the superuser reads the ordinary role's views too, then both detach
as postgres <<'SQL'
SET search_path = public, seg, pg_catalog;
SELECT pg_catalog.format('SELECT * FROM %s', v) FROM seg.attachments a, pg_catalog.unnest(a.views) v \gexec
SELECT seg.stop_maintaining('hostile_shop');
SELECT seg.detach('hostile_shop');
SQL
as hostile_user -c 'SET search_path = public, seg, pg_catalog' -c "SELECT seg.detach('hostile_user_shop')"

calls=$(psql -X -At -d "$db" -c 'SELECT count(*) FROM public.hostile_calls')
counted=$(psql -X -At -d "$db" -c 'SELECT is_called FROM public.hostile_calls_seq')
superuser=$(psql -X -At -d "$db" -c "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'hostile_attacker'")
if [ "$calls" != 0 ] || [ "$counted" != f ] || [ "$superuser" != f ] || grep -q planted "$work/log"; then
	echo "planted objects were called ($calls logged, sequence used: $counted); hostile role superuser: $superuser" >&2
	grep planted "$work/log" | sort | uniq -c >&2 || true
	exit 1
fi
echo "$(psql -X -At -d "$db" -c "SELECT count(*) FROM pg_catalog.pg_proc WHERE pronamespace = 'public'::regnamespace")" \
	"planted functions, $(psql -X -At -d "$db" -c "SELECT count(*) FROM pg_catalog.pg_operator WHERE oprnamespace = 'public'::regnamespace")" \
	"operators and 4 implicit casts never called; the hostile role is not superuser"
