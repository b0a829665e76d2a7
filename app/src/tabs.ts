// The tab bar (WAI-ARIA tabs): one button per view, arrow keys move between them, the URL's
// hash names the open one (#train, #inside, #classify, #model) so a view can be linked to.

export interface TabSpec {
  id: string;
  label: string;
  mount(panel: HTMLElement): void;
}

export function createTabs(bar: HTMLElement, panels: HTMLElement, specs: readonly TabSpec[]): void {
  bar.setAttribute('role', 'tablist');
  bar.setAttribute('aria-label', 'Views');
  const tabs: HTMLButtonElement[] = [];
  const views: HTMLElement[] = [];
  for (const spec of specs) {
    const tab = document.createElement('button');
    tab.type = 'button';
    tab.id = `tab-${spec.id}`;
    tab.textContent = spec.label;
    tab.setAttribute('role', 'tab');
    tab.setAttribute('aria-controls', `panel-${spec.id}`);
    tab.dataset.testid = `tab-${spec.id}`;
    const panel = document.createElement('section');
    panel.id = `panel-${spec.id}`;
    panel.className = 'panel';
    panel.setAttribute('role', 'tabpanel');
    panel.setAttribute('aria-labelledby', tab.id);
    panel.dataset.testid = `panel-${spec.id}`;
    bar.append(tab);
    panels.append(panel);
    tabs.push(tab);
    views.push(panel);
    spec.mount(panel);
  }

  const select = (index: number, focus: boolean): void => {
    tabs.forEach((tab, i) => {
      const selected = i === index;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      views[i]!.hidden = !selected;
    });
    if (focus) tabs[index]!.focus();
    history.replaceState(null, '', `#${specs[index]!.id}`);
  };

  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => select(i, false));
    tab.addEventListener('keydown', (event) => {
      const last = tabs.length - 1;
      const next = { ArrowRight: i === last ? 0 : i + 1, ArrowLeft: i === 0 ? last : i - 1, Home: 0, End: last }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      select(next, true);
    });
  });
  const fromHash = specs.findIndex((spec) => `#${spec.id}` === location.hash);
  select(Math.max(fromHash, 0), false);
}
