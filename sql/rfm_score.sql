
-- rfm_score: scoring customers (src/rfm_score.c)

CREATE FUNCTION @extschema@.rfm_score(stats @extschema@.rfm_stats, as_of timestamptz) RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME', 'rfm_score_window' LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_score(stats @extschema@.rfm_stats, as_of timestamptz, bins integer)
	RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME', 'rfm_score_window' LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_score(stats @extschema@.rfm_stats, as_of timestamptz, recency_bins integer,
									  frequency_bins integer, monetary_bins integer)
	RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME', 'rfm_score_window' LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_score(@extschema@.rfm_stats, timestamptz) IS
	'window function: scores 1 to 5 against the percentile thresholds of the window partition';
COMMENT ON FUNCTION @extschema@.rfm_score(@extschema@.rfm_stats, timestamptz, integer) IS
	'window function: scores 1 to bins against the percentile thresholds of the window partition';
COMMENT ON FUNCTION @extschema@.rfm_score(@extschema@.rfm_stats, timestamptz, integer, integer, integer) IS
	'window function: scores against the percentile thresholds of the window partition, bins per dimension';

CREATE FUNCTION @extschema@.rfm_score(stats @extschema@.rfm_stats, as_of timestamptz,
									  thresholds @extschema@.rfm_thresholds)
	RETURNS @extschema@.rfm
	AS 'MODULE_PATHNAME', 'rfm_score_thresholds' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_score(@extschema@.rfm_stats, timestamptz, @extschema@.rfm_thresholds) IS
	'scores one customer against stored thresholds';
