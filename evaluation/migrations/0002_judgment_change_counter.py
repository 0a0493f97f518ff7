"""Count every change to the judgment table, so a report's cache key is two O(1) lookups.

A deferred constraint trigger bumps a sequence once per changed row, at commit time. Report
caching reads (highest judgment id, this counter) before it reads the judgments, so a
commit that lands after the key was read always changes the key.
"""

from django.db import migrations

FORWARD = """
CREATE SEQUENCE evaluation_judgment_changes;
SELECT nextval('evaluation_judgment_changes');  -- last_value moves from here on
CREATE FUNCTION evaluation_count_judgment_change() RETURNS trigger AS $$
BEGIN
    PERFORM nextval('evaluation_judgment_changes');
    RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER judgment_changed
    AFTER INSERT OR UPDATE OR DELETE ON evaluation_judgment
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION evaluation_count_judgment_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS judgment_changed ON evaluation_judgment;
DROP FUNCTION IF EXISTS evaluation_count_judgment_change();
DROP SEQUENCE IF EXISTS evaluation_judgment_changes;
"""


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
