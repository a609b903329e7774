-- The Senior Operator is now what the product defines: an Operator with
-- general analytics. Earlier the role also held conversations.all and
-- conversations.transfer; the people who hold the role keep those rights,
-- as per-employee grants a Manager may revoke. Kept identical in both
-- dialects. An existing override of either permission is left as it is.
INSERT INTO permission_overrides (employee_id, permission, effect)
SELECT e.id, p.permission, 'grant'
FROM employees e
CROSS JOIN (SELECT 'conversations.all' AS permission UNION ALL SELECT 'conversations.transfer') p
WHERE e.role = 'senior_operator'
  AND NOT EXISTS (
      SELECT 1 FROM permission_overrides o WHERE o.employee_id = e.id AND o.permission = p.permission
  );
