-- segment_set
SELECT 1;
