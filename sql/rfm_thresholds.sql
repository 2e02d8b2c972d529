
-- rfm_thresholds: a population's score thresholds (src/rfm_thresholds.c, src/rfm_thresholds_agg.c)

CREATE TYPE @extschema@.rfm_thresholds;

CREATE FUNCTION segment_internal.rfm_thresholds_in(cstring) RETURNS @extschema@.rfm_thresholds
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_out(@extschema@.rfm_thresholds) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_recv(internal) RETURNS @extschema@.rfm_thresholds
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_send(@extschema@.rfm_thresholds) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.rfm_thresholds (
	INPUT = segment_internal.rfm_thresholds_in,
	OUTPUT = segment_internal.rfm_thresholds_out,
	RECEIVE = segment_internal.rfm_thresholds_recv,
	SEND = segment_internal.rfm_thresholds_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double
);
COMMENT ON TYPE @extschema@.rfm_thresholds IS
	'score thresholds of recency (days), frequency (orders) and monetary (amount), as JSON text';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_in(cstring) IS 'text input of rfm_thresholds';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_out(@extschema@.rfm_thresholds) IS 'text output of rfm_thresholds';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_recv(internal) IS 'binary input of rfm_thresholds';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_send(@extschema@.rfm_thresholds) IS 'binary output of rfm_thresholds';

CREATE FUNCTION @extschema@.make_rfm_thresholds(recency double precision[], frequency double precision[],
												monetary double precision[])
	RETURNS @extschema@.rfm_thresholds
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.make_rfm_thresholds(double precision[], double precision[], double precision[]) IS
	'custom thresholds: up to 8 finite non-decreasing values per dimension; N values make N+1 bins';

CREATE FUNCTION @extschema@.recency_thresholds(@extschema@.rfm_thresholds) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'rfm_thresholds_recency' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.recency_thresholds(@extschema@.rfm_thresholds) IS 'recency thresholds in days';
CREATE FUNCTION @extschema@.frequency_thresholds(@extschema@.rfm_thresholds) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'rfm_thresholds_frequency' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.frequency_thresholds(@extschema@.rfm_thresholds) IS 'frequency thresholds in orders';
CREATE FUNCTION @extschema@.monetary_thresholds(@extschema@.rfm_thresholds) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'rfm_thresholds_monetary' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.monetary_thresholds(@extschema@.rfm_thresholds) IS 'monetary thresholds in amount';

-- the aggregate's transition state: every customer's three values
CREATE FUNCTION segment_internal.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz, integer) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz, integer, integer, integer)
	RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_combinefn(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_serializefn(internal) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_deserializefn(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION segment_internal.rfm_thresholds_finalfn(internal) RETURNS @extschema@.rfm_thresholds
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz) IS
	'rfm_thresholds aggregate: adds a customer';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz, integer) IS
	'rfm_thresholds aggregate: adds a customer';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_transfn(internal, @extschema@.rfm_stats, timestamptz, integer, integer, integer) IS
	'rfm_thresholds aggregate: adds a customer';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_combinefn(internal, internal) IS 'rfm_thresholds aggregate: combines partial states';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_serializefn(internal) IS 'rfm_thresholds aggregate: serializes a partial state';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_deserializefn(bytea, internal) IS 'rfm_thresholds aggregate: reads a serialized partial state';
COMMENT ON FUNCTION segment_internal.rfm_thresholds_finalfn(internal) IS 'rfm_thresholds aggregate: percentile thresholds of the population';

CREATE AGGREGATE @extschema@.rfm_thresholds(stats @extschema@.rfm_stats, as_of timestamptz) (
	SFUNC = segment_internal.rfm_thresholds_transfn, STYPE = internal,
	FINALFUNC = segment_internal.rfm_thresholds_finalfn,
	COMBINEFUNC = segment_internal.rfm_thresholds_combinefn,
	SERIALFUNC = segment_internal.rfm_thresholds_serializefn,
	DESERIALFUNC = segment_internal.rfm_thresholds_deserializefn,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_thresholds(stats @extschema@.rfm_stats, as_of timestamptz, bins integer) (
	SFUNC = segment_internal.rfm_thresholds_transfn, STYPE = internal,
	FINALFUNC = segment_internal.rfm_thresholds_finalfn,
	COMBINEFUNC = segment_internal.rfm_thresholds_combinefn,
	SERIALFUNC = segment_internal.rfm_thresholds_serializefn,
	DESERIALFUNC = segment_internal.rfm_thresholds_deserializefn,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_thresholds(stats @extschema@.rfm_stats, as_of timestamptz, recency_bins integer,
											frequency_bins integer, monetary_bins integer) (
	SFUNC = segment_internal.rfm_thresholds_transfn, STYPE = internal,
	FINALFUNC = segment_internal.rfm_thresholds_finalfn,
	COMBINEFUNC = segment_internal.rfm_thresholds_combinefn,
	SERIALFUNC = segment_internal.rfm_thresholds_serializefn,
	DESERIALFUNC = segment_internal.rfm_thresholds_deserializefn,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_thresholds(@extschema@.rfm_stats, timestamptz) IS
	'percentile thresholds of a population of customers, 5 bins per dimension';
COMMENT ON AGGREGATE @extschema@.rfm_thresholds(@extschema@.rfm_stats, timestamptz, integer) IS
	'percentile thresholds of a population of customers, the given number of bins (1 to 9) per dimension';
COMMENT ON AGGREGATE @extschema@.rfm_thresholds(@extschema@.rfm_stats, timestamptz, integer, integer, integer) IS
	'percentile thresholds of a population of customers, bins (1 to 9) given per dimension';

-- Thresholds found in passes (src/threshold_selection.c): for populations
-- spread over Citus workers, which then send counts of key ranges instead of
-- a row per customer.
CREATE FUNCTION segment_internal.rfm_value_keys(stats @extschema@.rfm_stats, as_of timestamptz) RETURNS bigint[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.rfm_value_keys(@extschema@.rfm_stats, timestamptz) IS
	'a customer''s recency, frequency and monetary value as bigint keys that order as the values do';
CREATE FUNCTION segment_internal.key_prefix_shift(low bigint, high bigint) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.key_prefix_shift(bigint, bigint) IS
	'how many trailing bits to drop for two keys to share their leading bits (0 when equal)';
CREATE FUNCTION segment_internal.percentile_rows(population bigint, bins integer[], dimension integer) RETURNS bigint[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.percentile_rows(bigint, integer[], integer) IS
	'the rows (0-based, in value order) the thresholds of a dimension (1 recency, 2 frequency, 3 monetary) read';
CREATE FUNCTION segment_internal.percentile_thresholds_from_keys(population bigint, bins integer[], dimension integer,
																 rows bigint[], keys bigint[])
	RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION segment_internal.percentile_thresholds_from_keys(bigint, integer[], integer, bigint[], bigint[]) IS
	'the thresholds of a dimension from the keys at the rows percentile_rows() lists';

-- rfm_thresholds(stats, as_of, bins[1], bins[2], bins[3]) over the rows of a
-- query with a column "stats" (its names schema-qualified), exactly, in
-- passes over the query.  Each pass counts the customers' keys in each key
-- range that holds a row the thresholds read, by their next leading bits
-- (16 in the first pass, 12 after); a range of at most 4,096 customers is
-- counted by whole key, which ends the search there.  So after the first
-- pass (at most 65,536 counts per dimension, a few hundred for values of
-- a few orders of magnitude) each returns at most 4,096 counts per range,
-- whatever the number of customers.  NULL for an empty population or a
-- NULL as_of, and also when the population changed between passes (a
-- concurrent write; every pass checks the population's size and a sum of
-- hashes of its keys): the caller then aggregates in one pass.
CREATE FUNCTION segment_internal.rfm_thresholds_by_selection(population text, as_of timestamptz, bins integer[])
	RETURNS @extschema@.rfm_thresholds
	LANGUAGE plpgsql
	SET search_path = pg_catalog, segment_internal, @extschema@, pg_temp
	AS $function$
DECLARE
	customers bigint;
	-- what is searched for: per dimension, the rows the thresholds read,
	-- each with its key range (key >> shift = prefix; shift 64 is every
	-- key), the customers in that range and its rank there
	t_dimension integer[];
	t_row bigint[];
	t_shift integer[];
	t_prefix bigint[];
	t_customers bigint[];
	t_rank bigint[];
	-- one pass's ranges: the targets' distinct ranges and the shift of
	-- the digits they are counted by
	r_dimension integer[];
	r_shift integer[];
	r_prefix bigint[];
	r_customers bigint[];
	r_next integer[];
	-- one pass's counts: range (1-based), digit, customers, their
	-- lowest and highest key
	c_range integer[];
	c_digit bigint[];
	c_customers bigint[];
	c_low bigint[];
	c_high bigint[];
	-- the population's size and sum of hashes, in the first pass and in this
	fingerprint numeric[];
	pass_fingerprint numeric[];
	pass integer := 0;
	dimension_thresholds double precision[];
	recency double precision[];
	frequency double precision[];
	monetary double precision[];
BEGIN
	IF bins IS NULL THEN
		RAISE EXCEPTION 'the number of bins must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM percentile_rows(1, bins, 1);		-- checks the bins
	IF as_of IS NULL THEN
		RETURN NULL;			-- as the aggregate, which leaves every row out
	END IF;
	-- the first pass counts every key of each dimension by its leading 16
	-- bits, and so also the customers
	t_dimension := ARRAY[1, 2, 3];
	t_shift := ARRAY[64, 64, 64];
	t_prefix := ARRAY[0, 0, 0];
	t_customers := ARRAY[NULL, NULL, NULL];
	LOOP
		SELECT array_agg(d ORDER BY d, s, p), array_agg(s ORDER BY d, s, p), array_agg(p ORDER BY d, s, p),
			   array_agg(n ORDER BY d, s, p),
			   array_agg(CASE WHEN s = 64 THEN 48 WHEN n <= 4096 THEN 0 ELSE greatest(s - 12, 0) END ORDER BY d, s, p)
		INTO r_dimension, r_shift, r_prefix, r_customers, r_next
		FROM (SELECT DISTINCT d, s, p, n
			  FROM unnest(t_dimension, t_shift, t_prefix, t_customers) t(d, s, p, n)
			  WHERE s > 0) r;
		EXIT WHEN r_dimension IS NULL;

		-- the ranges, and a last one of every customer (dimension 0) for the
		-- population's fingerprint: its size and a sum of hashes of the
		-- customers' keys
		EXECUTE format(
			'SELECT array_agg(i ORDER BY i, digit) FILTER (WHERE d > 0), array_agg(digit ORDER BY i, digit) FILTER (WHERE d > 0),
					array_agg(n ORDER BY i, digit) FILTER (WHERE d > 0), array_agg(low ORDER BY i, digit) FILTER (WHERE d > 0),
					array_agg(high ORDER BY i, digit) FILTER (WHERE d > 0),
					ARRAY[sum(n) FILTER (WHERE d = 0), sum(f) FILTER (WHERE d = 0)]
			 FROM (SELECT r.i, r.d, v.k[r.d] >> r.next AS digit, count(*) AS n, min(v.k[r.d]) AS low, max(v.k[r.d]) AS high,
						  sum(CASE WHEN r.d = 0 THEN hash_array_extended(v.k, 0) END) AS f
				   FROM (SELECT rfm_value_keys(p.stats, $1) AS k FROM (%s) p WHERE p.stats IS NOT NULL) v
				   JOIN unnest($2::integer[] || 0, $3::integer[] || 64, $4::bigint[] || 0::bigint, $5::integer[] || 0)
						WITH ORDINALITY AS r(d, s, p, next, i)
					 ON r.s = 64 OR v.k[r.d] >> least(r.s, 63) = r.p
				   GROUP BY 1, 2, 3) c', population)
			INTO c_range, c_digit, c_customers, c_low, c_high, pass_fingerprint
			USING as_of, r_dimension, r_shift, r_prefix, r_next;
		pass := pass + 1;
		RAISE DEBUG 'rfm_thresholds_by_selection: pass %, % key ranges, % counts back',
			pass, array_length(r_dimension, 1), coalesce(array_length(c_range, 1), 0);

		-- the population must be the first pass's, and every range must hold
		-- the customers the previous pass counted in it
		fingerprint := coalesce(fingerprint, pass_fingerprint);
		IF pass_fingerprint IS DISTINCT FROM fingerprint
		   OR EXISTS (SELECT FROM unnest(r_customers) WITH ORDINALITY r(n, i)
					  WHERE r.n IS NOT NULL
						AND r.n IS DISTINCT FROM (SELECT sum(c.n) FROM unnest(c_range, c_customers) c(i, n) WHERE c.i = r.i)) THEN
			RETURN NULL;
		END IF;
		IF customers IS NULL THEN
			customers := fingerprint[1];
			IF customers IS NULL THEN
				RETURN NULL;
			END IF;
			-- the targets: each dimension's rows, for now in its whole range
			SELECT array_agg(d ORDER BY d, pos), array_agg(pos ORDER BY d, pos), array_agg(64 ORDER BY d, pos),
				   array_agg(0::bigint ORDER BY d, pos), array_agg(NULL::bigint ORDER BY d, pos),
				   array_agg(pos ORDER BY d, pos)
			INTO t_dimension, t_row, t_shift, t_prefix, t_customers, t_rank
			FROM generate_series(1, 3) d, unnest(percentile_rows(customers, bins, d)) pos;
			IF t_dimension IS NULL THEN
				EXIT;		-- one bin everywhere: no thresholds
			END IF;
		END IF;

		-- each target moves to the digit of its range that holds its rank,
		-- narrowed to the leading bits its lowest and highest key share: a
		-- digit of one key ends the search there (shift 0)
		SELECT array_agg(t.d ORDER BY t.o), array_agg(t.pos ORDER BY t.o),
			   array_agg(CASE WHEN t.s > 0 THEN x.shift ELSE 0 END ORDER BY t.o),
			   array_agg(CASE WHEN t.s = 0 THEN t.p WHEN x.shift = 64 THEN 0 ELSE x.low >> x.shift END ORDER BY t.o),
			   array_agg(CASE WHEN t.s > 0 THEN x.n ELSE t.n END ORDER BY t.o),
			   array_agg(CASE WHEN t.s > 0 THEN t.rank - x.before ELSE t.rank END ORDER BY t.o)
		INTO t_dimension, t_row, t_shift, t_prefix, t_customers, t_rank
		FROM unnest(t_dimension, t_row, t_shift, t_prefix, t_customers, t_rank) WITH ORDINALITY t(d, pos, s, p, n, rank, o)
		LEFT JOIN LATERAL (
			SELECT c.n, c.before, c.low, key_prefix_shift(c.low, c.high) AS shift
			FROM (SELECT c.digit, c.n, c.low, c.high, sum(c.n) OVER (ORDER BY c.digit) - c.n AS before
				  FROM unnest(c_range, c_digit, c_customers, c_low, c_high) c(i, digit, n, low, high)
				  WHERE c.i = (SELECT r.i FROM unnest(r_dimension, r_shift, r_prefix) WITH ORDINALITY r(d, s, p, i)
							   WHERE (r.d, r.s, r.p) = (t.d, t.s, t.p))) c
			WHERE c.before <= t.rank AND t.rank < c.before + c.n) x ON t.s > 0;
	END LOOP;

	FOR dimension IN 1..3 LOOP
		dimension_thresholds := (SELECT percentile_thresholds_from_keys(customers, bins, dimension,
														 coalesce(array_agg(t.pos ORDER BY t.pos), '{}'),
														 coalesce(array_agg(t.p ORDER BY t.pos), '{}'))
				  FROM unnest(t_dimension, t_row, t_prefix) t(d, pos, p) WHERE t.d = dimension);
		CASE dimension
			WHEN 1 THEN recency := dimension_thresholds;
			WHEN 2 THEN frequency := dimension_thresholds;
			ELSE monetary := dimension_thresholds;
		END CASE;
	END LOOP;
	RETURN make_rfm_thresholds(recency, frequency, monetary);
END
$function$;
COMMENT ON FUNCTION segment_internal.rfm_thresholds_by_selection(text, timestamptz, integer[]) IS
	'rfm_thresholds over a query''s column "stats", found in passes that return counts of key ranges, not a row per customer; NULL for an empty or changing population';
