
-- lifecycle: lifecycle stages of customers (src/lifecycle.c)

CREATE FUNCTION @extschema@.lifecycle_stage(stats @extschema@.rfm_stats, as_of timestamptz,
											new_days double precision DEFAULT 30,
											at_risk_multiple double precision DEFAULT 2,
											lapsed_multiple double precision DEFAULT 4,
											rhythm_min_orders integer DEFAULT 3,
											at_risk_days double precision DEFAULT 90,
											lapsed_days double precision DEFAULT 180)
	RETURNS text
	AS 'MODULE_PATHNAME', 'lifecycle_stage' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lifecycle_stage(@extschema@.rfm_stats, timestamptz, double precision,
												double precision, double precision, integer,
												double precision, double precision) IS
	'prospect, new, active, at_risk, lapsed or reactivated at as_of, against the customer''s own rhythm (mean gap times a multiple) or fixed days below rhythm_min_orders orders or when all orders fell at one instant; NULL stats is a prospect';

CREATE FUNCTION @extschema@.lifecycle_stages()
	RETURNS TABLE (stage text, "position" integer, description text)
	AS 'MODULE_PATHNAME', 'lifecycle_stages' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 6;
COMMENT ON FUNCTION @extschema@.lifecycle_stages() IS
	'every lifecycle stage in order (prospect, new, active, at_risk, lapsed, reactivated) with its position and description, so that stages without customers still show';
