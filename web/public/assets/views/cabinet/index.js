// @ts-check
/** The administration cabinet, one file per section. Each section is listed
 * only for holders of one of its permissions; the server refuses the same
 * operations to everyone else, so a hidden section is also a closed one. */

import { employees } from './employees.js';
import { widgets } from './widgets.js';
import { channels } from './channels.js';
import { statistics } from './statistics.js';
import { audit } from './audit.js';
import { security } from './security.js';
import { privacy } from './privacy.js';
import { finance } from './finance.js';

/** @typedef {{ path: string, title: string, permissions: string[], render: (main: HTMLElement, holds: (p: string) => boolean) => void }} CabinetSection */

/** @type {CabinetSection[]} */
export const cabinetSections = [
  { path: '/employees', title: 'nav.employees', permissions: ['employees.view'], render: employees },
  { path: '/widgets', title: 'nav.widgets', permissions: ['settings.view', 'settings.manage'], render: widgets },
  { path: '/channels', title: 'nav.channels', permissions: ['channels.manage'], render: channels },
  { path: '/statistics', title: 'nav.statistics', permissions: ['statistics.all', 'statistics.general', 'statistics.own'], render: statistics },
  { path: '/audit', title: 'nav.audit', permissions: ['audit.view'], render: audit },
  { path: '/security', title: 'nav.security', permissions: ['settings.view', 'settings.manage'], render: security },
  { path: '/personal-data', title: 'nav.personal_data', permissions: ['personal_data.export', 'personal_data.erase', 'audit.view', 'settings.view'], render: privacy },
  { path: '/finance', title: 'nav.finance', permissions: ['finance.view'], render: finance },
];
