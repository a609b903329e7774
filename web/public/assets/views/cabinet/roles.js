// @ts-check
/** The roles, from the least to the most trusted (an invitation offers all but the last). */
export const ROLES = ['operator', 'senior_operator', 'operator_supervisor', 'manager', 'administrator'];
